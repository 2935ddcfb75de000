#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD NAME... - runs each libFuzzer harness for
# FUZZ_SECONDS (default 60) on a copy of its corpus, with its dictionary
# (tests/fuzz/NAME.dict; dkim.dict for the message harnesses).  New inputs go to a work copy,
# not into the tree; a finding (crash, leak, timeout, failed cross-check)
# is saved as BUILD/fuzz-work/NAME/crash-* and fails the run: minimize it,
# fix the code, and add it to tests/fuzz/NAME/regressions/ (README.md).
set -u
cd "$(dirname "$0")/../.."
BUILD=$1; shift
SECONDS_EACH=${FUZZ_SECONDS:-60}
. tests/lib/report.sh

dict_of() {
	case $1 in
	verify | sign | tag_list) echo tests/fuzz/dkim.dict ;;
	*) echo "tests/fuzz/$1.dict" ;;
	esac
}

for name in "$@"; do
	work=$BUILD/fuzz-work/$name
	rm -rf "$work"
	mkdir -p "$work/corpus"
	cp tests/fuzz/"$name"/corpus/* "$work/corpus/"
	[[ -d tests/fuzz/$name/regressions ]] &&
	    cp tests/fuzz/"$name"/regressions/* "$work/corpus/"
	dict=()
	d=$(dict_of "$name")
	[[ -f $d ]] && dict=(-dict="$d")
	timeout $((SECONDS_EACH + 120)) nice "$BUILD/fuzz/fuzz_$name" \
	    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" \
	    "${dict[@]}" "$work/corpus" >"$work/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	if [[ $rc -eq 0 ]]; then
		ok "fuzz_$name: ${SECONDS_EACH}s, ${execs:-?} runs, no finding"
		echo "fuzz_$name: ${SECONDS_EACH}s, ${execs:-?} runs, no finding"
	else
		bad "fuzz_$name: a finding (rc=$rc) in $work" \
		    "$(grep -E 'ERROR|cross-check|SUMMARY|artifact' "$work/log" | tail -n 8)"
	fi
done
finish
