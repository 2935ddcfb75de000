#!/usr/bin/env bash
# bench/run.sh BUILD_DIR [--quick] - runs the engine benchmark and prints
# its table and summary.  --quick gives each measurement 0.3 s instead of
# 2 s (a smoke run; the numbers are noisier).  Without --quick,
# BENCH_SECONDS=S sets the duration.  Exits with the benchmark's status:
# 0 unless something failed to run.
set -euo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [--quick]" >&2
	exit 2
fi
build=$1
shift

args=()
for a in "$@"; do
	case $a in
	--quick) args+=(--seconds 0.3) ;;
	*) echo "$0: unknown argument: $a" >&2; exit 2 ;;
	esac
done

bin=$build/bench_engine
if [ ! -x "$bin" ]; then
	echo "$0: $bin is missing; run 'make $bin' first" >&2
	exit 1
fi
exec "$bin" "${args[@]}"
