#!/usr/bin/env bash
# tests/fuzz/replay.sh BUILD NAME... - replays each harness's seed corpus
# (tests/fuzz/NAME/corpus) and past findings (tests/fuzz/NAME/regressions)
# with the replay driver (gcc + ASan/UBSan): a regression test run by
# "make check", no fuzzing engine needed.  One check per harness.
set -u
cd "$(dirname "$0")/../.."
BUILD=$1; shift
. tests/lib/report.sh

for name in "$@"; do
	dir=tests/fuzz/$name
	args=("$dir/corpus")
	[[ -d $dir/regressions ]] && args+=("$dir/regressions")
	n=$(find "${args[@]}" -type f | wc -l)
	if [[ $n -eq 0 ]]; then
		bad "fuzz_$name: no corpus in $dir"
		continue
	fi
	# Bounded: a hang is a finding too.
	out=$(timeout 600 "$BUILD/fuzz/fuzz_$name" "${args[@]}" 2>&1)
	rc=$?
	if [[ $rc -eq 0 && $out == *"$n inputs replayed"* ]]; then
		ok "fuzz_$name: $n inputs replayed under ASan+UBSan"
	else
		bad "fuzz_$name: replaying $n inputs failed (rc=$rc)" \
		    "$(printf '%s\n' "$out" | grep -v '^replay:' | tail -n 12)"
	fi
done
finish
