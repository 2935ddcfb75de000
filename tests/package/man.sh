# shellcheck shell=bash
# tests/package/man.sh - the checks of the man pages in man/, sourced by
# tests/package/run.sh (uses ok/bad of tests/lib/report.sh; ROOT, WORK).
#
#   man_render PAGE...     groff -ww and man --warnings print nothing
#   man_render_selftest    the same check does fail on a page with errors
#   man_coverage           every directive a parser knows has an entry in
#                          vdkim.conf(5); every vdkimctl command and long
#                          option is in vdkimctl(8); every entry point of
#                          vdkim_api is in vdkim(3)

# One page: both renderers, every warning (groff -ww: all of them; man-db's
# --warnings passes -w to groff) is a failure.
man_warnings() {
	local page=$1 out=$WORK/man-warnings
	{
		LC_ALL=C.UTF-8 groff -ww -man -z "$page" 2>&1
		# (its warnings only: the page itself goes to /dev/null)
		# shellcheck disable=SC2069
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null
	} >"$out"
	[[ ! -s $out ]]
}

man_render() {
	local page
	for page in "$@"; do
		if man_warnings "$page"; then
			ok "man: ${page##*/} renders without warnings"
		else
			bad "man: ${page##*/} has warnings" "$WORK/man-warnings"
		fi
	done
}

# A check that cannot fail proves nothing: a page with an unknown macro
# and a bad escape must be reported.
man_render_selftest() {
	printf '.TH BROKEN 8\n.SH NAME\nbroken \\- x\n.XYZ foo\n\\qbar\n' \
	    >"$WORK/broken.8"
	if man_warnings "$WORK/broken.8"; then
		bad "man: the warning check passed a broken page"
	else
		ok "man: the warning check catches a broken page"
	fi
}

# The page's entries, "\-" and "\(dq" read as "-" and '"'.
man_plain() {
	sed -e 's/\\-/-/g' -e 's/\\(dq/"/g' "$1"
}

man_coverage() {
	local names n missing="" count
	names=$(bash "$ROOT/tests/package/directives.sh" "$ROOT") ||
	    { bad "man: the directives could not be read from the sources"; return; }
	count=$(wc -w <<<"$names")
	# The extractor itself: it must see directives of every schema.
	for n in dkim-sign domain-key virtual-mta dkim-rotation openssl-provider \
	    listen spool-directory listener; do
		grep -qx -- "$n" <<<"$names" || missing="$missing $n"
	done
	if [[ -n $missing ]] || ((count < 90)); then
		bad "man: the directive list from the sources is short ($count;" \
		    "missing:$missing)"
	else
		ok "man: $count directives read from the parsers' schemas"
	fi
	missing=""
	man_plain "$ROOT/man/vdkim.conf.5" >"$WORK/conf5"
	for n in $names; do
		grep -Eq "^\.(B|BI|BR) \"?$n( |\"|\$)" "$WORK/conf5" ||
		    missing="$missing $n"
	done
	if [[ -z $missing ]]; then
		ok "man: vdkim.conf(5) has an entry for each of the $count directives"
	else
		bad "man: vdkim.conf(5) lacks the directives:$missing"
	fi

	# vdkimctl(8): each command of the table in tools/vdkimctl.c (a
	# ".SS name"), each long option of tools/*.c ("\-\-name").
	missing=""
	man_plain "$ROOT/man/vdkimctl.8" >"$WORK/ctl8"
	local cmds opts
	cmds=$(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", cmd_.*/\1/p' \
	    "$ROOT/tools/vdkimctl.c")
	for n in $cmds; do
		grep -qx "\.SS $n" "$WORK/ctl8" || missing="$missing $n"
	done
	opts=$(grep -ho '{ *"[a-z][a-z-]*", *\(&\|required_argument\|no_argument\)' \
	    "$ROOT"/tools/*.c | sed 's/{ *"\([a-z-]*\)".*/\1/' | sort -u)
	for n in $opts; do
		grep -q -- "--$n\b" "$WORK/ctl8" || missing="$missing --$n"
	done
	if [[ -z $missing ]] && [[ $(wc -w <<<"$cmds") -ge 8 ]] &&
	    [[ $(wc -w <<<"$opts") -ge 20 ]]; then
		ok "man: vdkimctl(8) has its $(wc -w <<<"$cmds") commands and" \
		    "$(wc -w <<<"$opts") options"
	else
		bad "man: vdkimctl(8) lacks:$missing (commands: $(wc -w <<<"$cmds")," \
		    "options: $(wc -w <<<"$opts"))"
	fi

	# vdkim(3): each entry point of the table in vdkim.h.
	missing=""
	local eps
	eps=$(sed -n 's/.*(\*\([a-z_]*\))(.*/\1/p' "$ROOT/include/vdkim/vdkim.h" |
	    grep -vx -e log -e now)
	for n in $eps vdkim_get_api VDKIM_API_HAS; do
		grep -Eq "^\.B[IR]? \"?(typedef )?(int |void |unsigned )?\(?\*?$n\b" \
		    <(man_plain "$ROOT/man/vdkim.3") || missing="$missing $n"
	done
	if [[ -z $missing ]] && [[ $(wc -w <<<"$eps") -ge 12 ]]; then
		ok "man: vdkim(3) documents the $(wc -w <<<"$eps") entry points of vdkim_api"
	else
		bad "man: vdkim(3) lacks:$missing"
	fi
}
