# shellcheck shell=bash
# tests/lib/ctl.sh - running vdkimctl inside the test's DNS namespace and
# checking what it said (after tests/lib/report.sh and dns_netns.sh).
#
#   ctl NAME ARGS...        $CTL ARGS inside $DNS_NETNS, stdin from $CTL_IN
#                           (default: the caller's), output in $WORK/NAME.out
#                           and .err, exit status in RC
#   check_rc WANT NAME WHAT the last run exited WANT
#   has NAME TEXT WHAT      NAME.out or NAME.err holds TEXT (fixed string)
#   hasnt NAME TEXT WHAT    neither holds TEXT
#   has_re NAME RE WHAT     one of them matches RE (grep -E)
#
#   ctl_setup NAME ARGS...  the common start of a script: its one argument
#                           is the build folder; sets BUILD and CTL, checks
#                           vdkimctl, vdkim-harness and vdkim.so are built
#                           (exit 2 otherwise); defines fatal
#
# Needs WORK, CTL and TIMEOUT set by the caller.

ctl() {
	local name=$1 in=${CTL_IN:-/dev/stdin}
	shift
	timeout "$TIMEOUT" ip netns exec "$DNS_NETNS" "$CTL" "$@" \
		<"$in" >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
}

check_rc() {
	if [[ $RC -eq $1 ]]; then
		ok "$3"
	else
		bad "$3 (exit $RC, expected $1)" "$WORK/$2.out" "$WORK/$2.err"
	fi
}

has() {
	if grep -qF -- "$2" "$WORK/$1.out" "$WORK/$1.err"; then
		ok "$3"
	else
		bad "$3 (no \"$2\")" "$WORK/$1.out" "$WORK/$1.err"
	fi
}

hasnt() {
	if grep -qF -- "$2" "$WORK/$1.out" "$WORK/$1.err"; then
		bad "$3 (\"$2\" found)" "$WORK/$1.out" "$WORK/$1.err"
	else
		ok "$3"
	fi
}

has_re() {
	if grep -qE -- "$2" "$WORK/$1.out" "$WORK/$1.err"; then
		ok "$3"
	else
		bad "$3 (no /$2/)" "$WORK/$1.out" "$WORK/$1.err"
	fi
}

fatal() {
	bad "$@"
	finish
}

ctl_setup() {
	local name=$1 f
	shift
	if [[ $# -ne 1 ]]; then
		echo "usage: bash tests/$name/run.sh BUILD_DIR" >&2
		exit 2
	fi
	BUILD=$(cd "$1" 2>/dev/null && pwd)
	CTL=$BUILD/vdkimctl
	for f in "$CTL" "$BUILD/vdkim-harness" "$BUILD/vdkim.so"; do
		[[ -e $f ]] || { echo "$name: $f not built" >&2; exit 2; }
	done
}
