# shellcheck shell=bash
# tests/lib/report.sh - how every shell test counts and reports its checks.
#
#   ok "what"                  one passed check (printed only when
#                              REPORT_VERBOSE is set)
#   bad "what" [detail...]     one failed check: a FAIL line, then each
#                              detail (a text, or a file whose content is
#                              shown) indented, 12 lines at most
#   finish                     the closing line "N passed, N failed", then
#                              exit 1 if anything failed, else 0

PASS=0
FAIL=0

ok() {
	PASS=$((PASS + 1))
	[[ -z ${REPORT_VERBOSE:-} ]] || echo "ok   $*"
}

bad() {
	local what=$1 l
	shift
	FAIL=$((FAIL + 1))
	echo "FAIL $what"
	for l in "$@"; do
		[[ $l != *$'\n'* && -f $l ]] && l=$(cat "$l")
		l=${l%$'\n'}
		[[ -n $l ]] || continue
		printf '%s\n' "$l" | head -n 12 | cut -c1-400 | sed 's/^/       | /'
	done
}

finish() {
	echo "$PASS passed, $FAIL failed"
	((FAIL == 0)) || exit 1
	exit 0
}
