#!/usr/bin/env bash
# bench/stats_bench.sh BUILD_DIR [ROUNDS] - the counters' cost on signing
# throughput: BUILD_DIR/stats_bench with one Ed25519 key (the fastest
# signature, so the counters' share is the largest) and one RSA-2048 key,
# counters off against counters in a stats-file.
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/stats_bench.sh BUILD_DIR [ROUNDS]}" && pwd)
ROUNDS=${2:-21}
for f in "$BUILD/stats_bench" "$BUILD/vdkim.so" "$BUILD/vdkimctl"; do
	[[ -e $f ]] || { echo "stats_bench: $f not built" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-statsbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for kind in ed25519 rsa; do
	mkdir -p "$WORK/$kind"
	"$BUILD/vdkimctl" keygen --type "$kind" --selector k1 --domain example.com \
	    --dir "$WORK/$kind" >/dev/null
	key="domain-key = \"k1,example.com,$WORK/$kind/k1.private\""
	printf '%s\n' "$key" 'stats-counters = no' \
	    'virtual-mta bench { domain "*" { dkim-sign = yes } }' >"$WORK/$kind-off.conf"
	printf '%s\n' "$key" "stats-file = \"$WORK/$kind.stats\"" \
	    'virtual-mta bench { domain "*" { dkim-sign = yes } }' >"$WORK/$kind-on.conf"
	echo "== $kind"
	per=4000
	[[ $kind == rsa ]] && per=1000
	"$BUILD/stats_bench" --so "$BUILD/vdkim.so" --off "$WORK/$kind-off.conf" \
	    --on "$WORK/$kind-on.conf" --rounds "$ROUNDS" --per-round "$per"
done
