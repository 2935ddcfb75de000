#!/usr/bin/env bash
# bench/abi_body_bench.sh BUILD_DIR [MB] [ROUNDS] - relaxed body hashing
# through vdkim.so against OpenSSL SHA-256 of the same bytes, plain and
# stop-heavy text (bench/abi_body_bench.c), with a new Ed25519 key in a
# temporary folder.
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/abi_body_bench.sh BUILD_DIR [MB] [ROUNDS]}" && pwd)
MB=${2:-256}
ROUNDS=${3:-5}
for f in "$BUILD/abi_body_bench" "$BUILD/vdkim.so" "$BUILD/vdkimctl"; do
	[[ -e $f ]] || { echo "abi_body_bench: $f not built" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-bodybench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$BUILD/vdkimctl" keygen --selector b1 --domain example.com --type ed25519 \
    --dir "$WORK" >/dev/null
printf '%s\n' "domain-key = \"b1,example.com,$WORK/b1.private\"" \
    'domain "*" {' '    dkim-sign = yes' '    dkim-body-canon = relaxed' '}' \
    >"$WORK/body.conf"
"$BUILD/abi_body_bench" --so "$BUILD/vdkim.so" --config "$WORK/body.conf" \
    --mb "$MB" --rounds "$ROUNDS"
