#!/usr/bin/env bash
# tests/import/run.sh BUILD_DIR - vdkimctl import pmta|opendkim.
#
#   1. PowerMTA configs written from its documented examples
#      (tests/import/pmta/: virtual MTAs, a pool, domain blocks at global
#      and VMTA scope, a key list, sources, a second Ed25519 signature,
#      include, a skipped block) and lines vdkim cannot say exactly
#      (warnings.conf): the output passes config-test, holds the blocks,
#      names what was skipped; which key signs, as the module decides it;
#      the imported config signs through vdkimctl sign --config.
#   2. OpenDKIM layouts (tests/import/opendkim/): single key (Debian's
#      opendkim.conf), KeyTable + refile: SigningTable with wildcards as
#      distributions ship them, a catch-all table; each sample address
#      decided by the module and compared with OpenDKIM's tables.
#   3. Errors: unreadable files (66), bad syntax with FILE:LINE (65), what
#      cannot be imported (78), usage (64).
#   4. Equivalence (root: a network namespace): Debian's opendkim 2.11
#      with the original config and vdkim-milter with the imported one,
#      behind one private Postfix 3.7 (tests/lib/postfix.sh, as the milter
#      tests run it), sign the same messages: the same d=, s= and signed
#      header set (h=), and both verify over DNS (dkimpy, Mail::DKIM).
#
# IMPORT_TEST_VERBOSE=1 lists passing checks; IMPORT_TEST_KEEP=1 keeps the
# work folder; IMPORT_CLI_ONLY=1 (make import-san) runs parts 1-3 only;
# VDKIMCTL names the vdkimctl to test.
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/import
PY=/usr/bin/python3
# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${IMPORT_TEST_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"

OPENDKIM_PORT=8893   # the original (opendkim)
MILTER_PORT=8891     # vdkim-milter with the imported config
PORT_ORIG=2535       # smtpd -> opendkim
PORT_VDKIM=2536      # smtpd -> vdkim-milter
SINK_PORT=2610

fatal() {
	bad "$@"
	finish
}

# has WHAT FILE TEXT: FILE holds the line TEXT (fixed string).
has() {
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		bad "$1: \"$3\"" "$2"
	fi
}

hasnt() {
	if grep -qF -- "$3" "$2"; then
		bad "$1: no \"$3\"" "$2"
	else
		ok "$1"
	fi
}

# import KIND FILE NAME [options]: runs the import in $WORK/src; stdout in
# $WORK/NAME.out, stderr in $WORK/NAME.err, the status in RC.
import() {
	local kind=$1 file=$2 name=$3
	shift 3
	(cd "$WORK/src" && "$CTL" import "$kind" "$@" "$file") \
	    >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
}

# config_ok WHAT FILE: vdkimctl config-test says config OK, exit 0.
config_ok() {
	local out
	if out=$("$CTL" config-test --config "$2" 2>&1) &&
	    [[ $out == *"config OK"* ]]; then
		ok "$1: passes config-test"
	else
		bad "$1: passes config-test" "$out"
	fi
}

# fails WHAT KIND FILE STATUS TEXT: the import exits STATUS, its stderr
# holds TEXT, stdout is empty.
fails() {
	local what=$1 kind=$2 file=$3 status=$4 text=$5
	import "$kind" "$file" err
	if ((RC == status)) && grep -qF -- "$text" "$WORK/err.err" &&
	    [[ ! -s $WORK/err.out ]]; then
		ok "$what: exit $status, \"$text\""
	else
		bad "$what: exit $status (got $RC), \"$text\"" "$WORK/err.err"
	fi
}

# ---------------------------------------------------------------- setup

make_keys() {
	local d s
	for d in example.com:default example.com:tx1 example.com:news1 \
	    example.com:any1 example.com:acme1 example.com:mail \
	    example.com:shop example.org:s1 example.org:bob esp.example:esp \
	    shared:shared; do
		mkdir -p "$WORK/src/${d%%:*}"
		"$CTL" keygen --selector "${d#*:}" --domain "${d%%:*}" \
		    --dir "$WORK/src/${d%%:*}" >/dev/null ||
		    fatal "vdkimctl keygen ${d#*:}"
	done
	"$CTL" keygen --type ed25519 --selector ed1 --domain example.com \
	    --dir "$WORK/src/example.com" >/dev/null || fatal "keygen ed1"
	# The PowerMTA examples keep their keys in one folder.
	for s in default tx1 news1 any1 acme1 ed1; do
		cp -p "$WORK/src/example.com/$s.private" "$WORK/src/$s.private"
	done
}

# The fixtures in $WORK/src beside the keys, with @DIR@ (that folder),
# @WORK@ and @OPENDKIM_PORT@ filled in.  Key paths: the PowerMTA examples'
# @DIR@/NAME.private, OpenDKIM's @DIR@/DOMAIN/NAME.private.
make_sources() {
	local f
	for f in "$HERE"/pmta/* "$HERE"/opendkim/*; do
		sed -e "s|@DIR@|$WORK/src|g" -e "s|@WORK@|$WORK|g" \
		    -e "s|@OPENDKIM_PORT@|$OPENDKIM_PORT|g" "$f" \
		    >"$WORK/src/$(basename "$f")"
	done
}

# ------------------------------------------------------------ PowerMTA

pmta_tests() {
	local o e msg
	import pmta esp.conf esp
	o=$WORK/esp.out e=$WORK/esp.err
	if ((RC == 0)); then ok "pmta esp.conf: exit 0"; else bad "pmta esp.conf: exit 0 (got $RC)" "$e"; fi
	config_ok "pmta esp.conf" "$o"
	has "pmta: virtual-mta block" "$o" 'virtual-mta "mta-news" {    # esp.conf:31'
	has "pmta: the VMTA's key" "$o" '    domain-key = "news1,news.example.com,'
	has "pmta: the VMTA's domain block" "$o" '    domain "*" {    # esp.conf:34'
	has "pmta: pool members" "$o" '    virtual-mta = {"mta-news", "mta-bulk"}'
	has "pmta: key list" "$o" 'domain-key-list "tenant-acme" {    # esp.conf:27'
	has "pmta: source with X-DKIM-Options" "$o" 'source "127.0.0.1" {'
	has "pmta: process-x-dkim-options" "$o" '    process-x-dkim-options = yes    # esp.conf:19'
	has "pmta: second signature" "$o" '    second-dkim-algorithm = ed25519-sha256    # esp.conf:64'
	has "pmta: header list" "$o" '    dkim-headers = {"From", "To", "Subject", "Date", "Message-ID"}'
	has "pmta: global domain block" "$o" 'domain "archive.example.net" {    # esp.conf:69'
	has "pmta: dkim-* in a VMTA goes to its domain \"*\"" "$o" 'esp.conf:44 gives dkim-sign outside a <domain> block'
	has "pmta: the VMTA's recipient block" "$o" '    domain "gmail.com" {    # esp.conf:46'
	has "pmta: include (relative to the including file)" "$o" 'virtual-mta "mta-tx" {    # pmta-vmtas.conf:2'
	has "pmta: skipped directive listed" "$o" '#   esp.conf:6: smtp-listener 0/0:25'
	has "pmta: skipped directive in a domain block" "$o" '#   esp.conf:66: retry-after 10m'
	has "pmta: skipped block listed once" "$o" '#   pmta-vmtas.conf:7: <acct-file /var/log/pmta/acct.csv> (the whole block)'
	hasnt "pmta: nothing of a skipped block" "$o" 'max-size'
	has "pmta: which key signs, mta-news" "$e" 'virtual-mta mta-news: From: postmaster@news.example.com vmta mta-news -> signed d=news.example.com s=news1 and d=example.com s=ed1'
	has "pmta: which key signs, mta-tx" "$e" 'virtual-mta mta-tx: From: postmaster@example.com vmta mta-tx -> signed d=example.com s=tx1 and d=example.com s=ed1'
	has "pmta: which key signs, the * key" "$e" 'virtual-mta mta-bulk: From: postmaster@any-domain.example vmta mta-bulk -> signed d=any-domain.example s=any1'
	hasnt "pmta esp.conf: no warning" "$e" 'warning'

	import pmta esp.conf espx --explain
	has "pmta --explain: the answers as comments" "$WORK/espx.out" '#   virtual-mta mta-tx: From: postmaster@example.com vmta mta-tx -> signed d=example.com s=tx1'
	config_ok "pmta --explain output" "$WORK/espx.out"

	# The imported config at work: the module's own signing path.
	msg=$WORK/msg.eml
	printf 'From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: import\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <1@example.com>\n\nHello.\n' >"$msg"
	if out=$("$CTL" sign --config "$o" --vmta mta-bulk --rcpt-domain example.net <"$msg" 2>&1) &&
	    [[ $out == *"s=default"* && $out == *"x="* && $out == *"s=ed1"* ]]; then
		ok "pmta: mta-bulk signs (RSA + Ed25519, x= from dkim-expire-after)"
	else
		bad "pmta: mta-bulk signs (RSA + Ed25519, x=)" "$out"
	fi
	if "$CTL" sign --config "$o" --vmta mta-bulk --rcpt-domain example.net <"$msg" 2>/dev/null |
	    "$CTL" verify --key "default._domainkey.example.com=$WORK/src/default.private" \
	    --key "ed1._domainkey.example.com=$WORK/src/ed1.private" >"$WORK/v.out" 2>&1; then
		ok "pmta: what the imported config signs verifies"
	else
		bad "pmta: what the imported config signs verifies" "$WORK/v.out"
	fi
	if out=$("$CTL" sign --config "$o" --vmta mta-bulk --rcpt-domain gmail.com <"$msg" 2>&1) &&
	    [[ $out != *DKIM-Signature* && $out == *signing-disabled* ]]; then
		ok "pmta: mta-bulk's <domain gmail.com> dkim-sign no holds"
	else
		bad "pmta: mta-bulk's <domain gmail.com> dkim-sign no holds" "$out"
	fi

	import pmta warnings.conf warn
	o=$WORK/warn.out e=$WORK/warn.err
	if ((RC == 0)); then ok "pmta warnings.conf: exit 0"; else bad "pmta warnings.conf: exit 0 (got $RC)" "$e"; fi
	config_ok "pmta warnings.conf" "$o"
	has "pmta: domain-key in a domain block: warned" "$e" 'warning: warnings.conf:8: domain-key in <domain gmail.com>'
	hasnt "pmta: ... and not moved up (never widened)" "$o" 'tx1.private'
	has "pmta: unknown dkim-* option: warned in place" "$o" '# WARNING: warnings.conf:9: dkim-frobnicate yes: vdkim has no such option'
	has "pmta: a domain pattern vdkim has not: warned" "$e" 'warning: warnings.conf:11: <domain [a-z]+\.example>'
	has "pmta: unknown pool member: warned" "$o" 'pool member no-such-vmta is no <virtual-mta>'
	has "pmta: the header counts the warnings" "$o" '# 4 WARNING(S)'
}

pmta_errors() {
	local s=$WORK/src rc out
	fails "pmta: no such file" pmta nothere.conf 66 "nothere.conf"
	printf 'smtp-listener 0/0:25\ninclude missing.conf\n' >"$s/inc-missing.conf"
	fails "pmta: include of a missing file" pmta inc-missing.conf 66 "inc-missing.conf:2: "
	printf 'include cyc-b.conf\n' >"$s/cyc-a.conf"
	printf '# b\ninclude cyc-a.conf\n' >"$s/cyc-b.conf"
	fails "pmta: include cycle" pmta cyc-a.conf 65 "cyc-b.conf:2: include cyc-a.conf: a cycle"
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf 'include deep%d.conf\n' $((i + 1)) >"$s/deep$i.conf"
	done
	printf 'postmaster a@b.example\n' >"$s/deep10.conf"
	fails "pmta: include too deep" pmta deep0.conf 65 "nested more than 8 deep"
	printf '<virtual-mta a>\n  dkim-sign yes\n' >"$s/unclosed.conf"
	fails "pmta: an unclosed block" pmta unclosed.conf 65 "unclosed.conf:1: <virtual-mta> is never closed"
	printf '<virtual-mta a>\n<domain *>\n</virtual-mta>\n' >"$s/mismatch.conf"
	fails "pmta: a wrong closing tag" pmta mismatch.conf 65 "mismatch.conf:3: </virtual-mta> where </domain> was expected (opened at mismatch.conf:2)"
	printf '\n\ndomain-key onlyselector\n' >"$s/badkey.conf"
	fails "pmta: domain-key without its fields" pmta badkey.conf 65 "badkey.conf:3: domain-key: expected SELECTOR,DOMAIN,KEYFILE"
	printf '<domain *>\n  dkim-sign maybe\n</domain>\n' >"$s/badbool.conf"
	fails "pmta: dkim-sign maybe" pmta badbool.conf 65 "badbool.conf:2: dkim-sign: expected yes or no"
	printf '<virtual-mta a>\n<virtual-mta b>\n</virtual-mta>\n</virtual-mta>\n' >"$s/nested.conf"
	fails "pmta: a VMTA in a VMTA" pmta nested.conf 65 "nested.conf:2: <virtual-mta> inside <virtual-mta>"
	printf '<virtual-mta a>\n</virtual-mta>\n<virtual-mta a>\n</virtual-mta>\n' >"$s/dup.conf"
	fails "pmta: a VMTA twice" pmta dup.conf 65 "dup.conf:3: <virtual-mta a> again (first at dup.conf:1)"
	printf '</domain>\n' >"$s/stray.conf"
	fails "pmta: a stray closing tag" pmta stray.conf 65 "stray.conf:1: </domain> closes no open block"
	printf '<virtual-mta a\n' >"$s/open.conf"
	fails "pmta: a block without >" pmta open.conf 65 "open.conf:1: a block must be <NAME ...>"
	# A value vdkim refuses: the error names the original's line.
	printf '# x\n<domain *>\n  dkim-sign yes\n  dkim-body-canon sloppy\n</domain>\n' >"$s/badval.conf"
	fails "pmta: a value vdkim refuses names the original's line" pmta badval.conf 65 "badval.conf:4: vdkim cannot take what this line says"
	chmod 0 "$s/badval.conf"
	if [[ $(id -u) != 0 ]]; then
		fails "pmta: an unreadable file" pmta badval.conf 66 "badval.conf"
	fi
	mkdir -p "$s/adir"
	fails "pmta: a folder" pmta adir 66 "not a regular file"
	if "$CTL" import pmta >/dev/null 2>"$WORK/usage.err"; then rc=0; else rc=$?; fi
	if ((rc == 64)); then ok "import pmta without FILE: exit 64"; else bad "import pmta without FILE: exit 64 (got $rc)" "$WORK/usage.err"; fi
	if "$CTL" import frob x >/dev/null 2>&1; then rc=0; else rc=$?; fi
	if ((rc == 64)); then ok "import frob: exit 64"; else bad "import frob: exit 64 (got $rc)"; fi
	if out=$("$CTL" import --help 2>&1) && [[ $out == *"import pmta|opendkim FILE"* ]]; then
		ok "import --help: the usage, exit 0"
	else
		bad "import --help: the usage, exit 0" "$out"
	fi
}

# ------------------------------------------------------------ OpenDKIM

opendkim_tests() {
	local o e
	import opendkim single.conf single
	o=$WORK/single.out e=$WORK/single.err
	if ((RC == 0)); then ok "opendkim single.conf: exit 0"; else bad "opendkim single.conf: exit 0 (got $RC)" "$e"; fi
	config_ok "opendkim single.conf" "$o"
	has "opendkim single: the key" "$o" "domain-key = \"mail,example.com,$WORK/src/example.com/mail.private\"    # single.conf:16"
	has "opendkim single: SubDomains no" "$o" '    dkim-key-subdomains = no    # SubDomains'
	has "opendkim single: canonicalization" "$o" '    dkim-body-canon = simple    # single.conf:10'
	has "opendkim single: From: decides" "$o" '    dkim-identity = strict-from'
	has "opendkim single: skipped listed" "$o" '#   single.conf:20: UserID opendkim'
	has "opendkim single: the domain signs as in OpenDKIM" "$e" 'Domain: From: postmaster@example.com -> signed d=example.com s=mail; the original: d=example.com s=mail  (same)'
	has "opendkim single: a subdomain does not, as in OpenDKIM" "$e" 'Domain (a subdomain): From: x@sub.example.com -> not signed (no-key); the original: not signed  (same)'
	hasnt "opendkim single: no difference" "$e" 'DIFFERS'
	hasnt "opendkim single: no warning" "$e" 'warning'

	sed 's/^SubDomains.*/SubDomains yes/' "$WORK/src/single.conf" >"$WORK/src/single-sub.conf"
	import opendkim single-sub.conf singlesub
	has "opendkim SubDomains yes: a subdomain signs with d= the domain, as in OpenDKIM" "$WORK/singlesub.err" 'From: x@sub.example.com -> signed d=example.com s=mail; the original: d=example.com s=mail  (same)'
	config_ok "opendkim SubDomains yes" "$WORK/singlesub.out"

	import opendkim tables.conf tables
	o=$WORK/tables.out e=$WORK/tables.err
	if ((RC == 0)); then ok "opendkim tables.conf: exit 0"; else bad "opendkim tables.conf: exit 0 (got $RC)" "$e"; fi
	config_ok "opendkim tables.conf" "$o"
	has "refile *@example.com: that domain only" "$o" "domain-key = \"mail,example.com,$WORK/src/example.com/mail.private\""
	has "refile *@*.example.com: a \"*.\" key" "$o" "domain-key = \"shop,*.example.com,$WORK/src/example.com/shop.private\""
	has "refile: exact domains (dkim-key-subdomains no)" "$o" '    dkim-key-subdomains = no    # refile patterns name domains exactly'
	has "refile x@example.com: same as OpenDKIM" "$e" 'From: x@example.com -> signed d=example.com s=mail; the original: d=example.com s=mail  (same)'
	has "refile x@x.example.com: same as OpenDKIM" "$e" 'From: x@x.example.com -> signed d=example.com s=shop; the original: d=example.com s=shop  (same)'
	has "refile x@sub.example.com: same as OpenDKIM" "$e" 'From: x@sub.example.com -> signed d=example.com s=shop; the original: d=example.com s=shop  (same)'
	has "refile x@sub.example.org: not widened" "$e" 'From: x@sub.example.org -> not signed (no-key); the original: not signed  (same)'
	has "refile: a user's line cannot be said: warned" "$e" 'SigningTable:2: bob@example.org: vdkim chooses keys by the whole domain'
	has "refile: ... and the difference shown" "$e" 'From: bob@example.org -> signed d=example.org s=s1; the original: d=example.org s=bob  DIFFERS'
	has "refile: another d= than the pattern's domain: warned" "$o" "# WARNING: $WORK/src/SigningTable:6: *@customer.example signs with d=esp.example"
	has "refile: *@*.example.net with d=example.org: warned" "$e" 'SigningTable:7: *@*.example.net signs with d=example.org'
	has "refile: three differences counted" "$e" 'WARNING: 3 cases above sign differently from the original (DIFFERS)'
	has "InternalHosts: not applicable, warned" "$e" 'tables.conf:19: InternalHosts'
	has "ExternalIgnoreList: not applicable, warned" "$e" 'tables.conf:18: ExternalIgnoreList'
	has "MinimumKeyBits: noted" "$o" 'MinimumKeyBits 1024'
	has "SignatureAlgorithm" "$o" '    dkim-algorithm = rsa-sha256    # tables.conf:13'

	# SignHeaders and OversignHeaders beyond From.
	sed -e 's/^OversignHeaders.*/OversignHeaders From,Subject/' \
	    -e '$a SignHeaders From,To,Subject,Date' \
	    "$WORK/src/single.conf" >"$WORK/src/headers.conf"
	import opendkim headers.conf headers
	config_ok "opendkim SignHeaders" "$WORK/headers.out"
	has "SignHeaders: the list" "$WORK/headers.out" '    dkim-headers = {"From", "To", "Subject", "Date"}    # headers.conf:25'
	has "OversignHeaders beyond From: warned" "$WORK/headers.err" 'headers.conf:13: OversignHeaders From,Subject: vdkim over-signs From: only'

	import opendkim catchall.conf catchall
	o=$WORK/catchall.out e=$WORK/catchall.err
	config_ok "opendkim catchall.conf" "$o"
	has "refile * with %: a \"*\" key" "$o" "domain-key = \"shared,*,$WORK/src/shared/shared.private\""
	has "refile: lines after * are never reached" "$o" '*@example.org: never reached'
	has "refile *: any domain signs as itself, as in OpenDKIM" "$e" 'From: x@unlisted-domain.example -> signed d=unlisted-domain.example s=shared; the original: d=unlisted-domain.example s=shared  (same)'
	has "refile: x@example.org after *: as in OpenDKIM" "$e" 'From: x@example.org -> signed d=example.org s=shared; the original: d=example.org s=shared  (same)'
	hasnt "opendkim catchall: no difference" "$e" 'DIFFERS'
}

opendkim_errors() {
	local s=$WORK/src
	fails "opendkim: no such file" opendkim nothere.conf 66 "nothere.conf"
	printf 'KeyTable %s/none\nSigningTable refile:%s/SigningTable\n' "$s" "$s" >"$s/kt-missing.conf"
	fails "opendkim: a KeyTable that is not there" opendkim kt-missing.conf 66 "kt-missing.conf:1: "
	printf '# k\nbroken example.com-mail-nopath\n' >"$s/KeyTable.bad"
	printf 'KeyTable %s/KeyTable.bad\nSigningTable refile:%s/SigningTable\n' "$s" "$s" >"$s/kt-bad.conf"
	fails "opendkim: a KeyTable line without DOMAIN:SELECTOR:KEYPATH" opendkim kt-bad.conf 65 "KeyTable.bad:2: KeyTable: expected DOMAIN:SELECTOR:KEYPATH"
	printf 'Syslog yes\nKeyTable dsn:mysql://u:p@3306+db/dkim/table=k\nSigningTable refile:%s/SigningTable\n' "$s" >"$s/db.conf"
	fails "opendkim: a database table" opendkim db.conf 78 "db.conf:2: KeyTable dsn:mysql"
	printf 'Syslog yes\n' >"$s/nothing.conf"
	fails "opendkim: nothing to sign" opendkim nothing.conf 78 "this config signs nothing"
	printf 'Domain example.com\nSelector s\nKeyFile k\nCanonicalization loose/simple\n' >"$s/canon.conf"
	fails "opendkim: a bad Canonicalization" opendkim canon.conf 65 "canon.conf:4: Canonicalization: expected simple or relaxed"
	printf 'Domain example.com\nSelector s\nKeyFile k\nSubDomains perhaps\n' >"$s/sub.conf"
	fails "opendkim: SubDomains perhaps" opendkim sub.conf 65 "sub.conf:4: SubDomains: expected yes or no"
	printf 'Domain example.com\nKeyFile k\n' >"$s/nosel.conf"
	fails "opendkim: Domain without Selector" opendkim nosel.conf 78 "Domain without Selector"
	printf 'Domain\n' >"$s/novalue.conf"
	fails "opendkim: a directive without value" opendkim novalue.conf 65 "novalue.conf:1: Domain without a value"
}

# ---------------------------------------------------------------- main

if [[ ${1:-} == --inner ]]; then
	# shellcheck source=equivalence.sh
	. "$HERE/equivalence.sh"
	equivalence_inner "$2" "$3"
	finish
fi

BUILD=$(cd "${1:-build}" && pwd)
CTL=${VDKIMCTL:-$BUILD/vdkimctl}
[[ -x $CTL ]] || fatal "build first: $CTL"
# opendkim refuses a config or key file in a folder others may write to,
# anywhere up the path (/tmp is): as root, the work folder is made in
# /run (root's, 0755); opendkim's and Postfix's users reach it.
if [[ $(id -u) == 0 && -d /run && -w /run ]]; then
	WORK=$(mktemp -d /run/vdkim-import.XXXXXX) || fatal "mktemp"
else
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-import.XXXXXX") || fatal "mktemp"
fi
chmod 0755 "$WORK"
make_keys
make_sources
pmta_tests
pmta_errors
opendkim_tests
opendkim_errors
cleanup() {
	if [[ -z ${IMPORT_TEST_KEEP:-} ]]; then
		rm -rf "$WORK"
	else
		echo "import: work folder kept: $WORK" >&2
	fi
}
# make import-san: the importers' own checks under ASan+UBSan; the
# equivalence (no vdkimctl code in it) is make import's.
if [[ -n ${IMPORT_CLI_ONLY:-} ]]; then
	cleanup
	echo "import: parts 1-3 only (IMPORT_CLI_ONLY); the equivalence with opendkim runs in make import"
	finish
fi
# shellcheck source=equivalence.sh
. "$HERE/equivalence.sh"
equivalence_outer "$BUILD"
finish
