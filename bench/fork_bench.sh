#!/usr/bin/env bash
# bench/fork_bench.sh BUILD_DIR [ROUNDS] - what a forked child's first
# signature costs (fresh RSA blinding, module/engine/key_proc.h) against a
# warm signature in the process that loaded the key: BUILD_DIR/fork_bench
# with a new RSA-2048 key in a temporary folder.
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/fork_bench.sh BUILD_DIR [ROUNDS]}" && pwd)
ROUNDS=${2:-21}
for f in "$BUILD/fork_bench" "$BUILD/vdkim.so" "$BUILD/vdkimctl"; do
	[[ -e $f ]] || { echo "fork_bench: $f not built" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-forkbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$BUILD/vdkimctl" keygen --selector k1 --domain example.com --dir "$WORK" >/dev/null
printf '%s\n' "domain-key = \"k1,example.com,$WORK/k1.private\"" \
    'domain "*" { dkim-sign = yes }' >"$WORK/fork.conf"
"$BUILD/fork_bench" --so "$BUILD/vdkim.so" --config "$WORK/fork.conf" \
    --rounds "$ROUNDS"
