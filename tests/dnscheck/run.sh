#!/usr/bin/env bash
# tests/dnscheck/run.sh BUILD_DIR - "vdkimctl check-dns" against a real
# DNS server (dnsmasq in a private network namespace), and the verdicts it
# records driving signing (dkim-dns-check warn / require).
#
#   bash tests/dnscheck/run.sh build      (the Makefile's "dnscheck" step)
#
# Keys of d.test, one case each: good (published as it is), miss (no
# record), stale (another key published), revoked (p= empty), testing
# (t=y), wrongk (an RSA key, an ed25519 record), sha1 (h=sha1).  Then the
# state file drives vdkimctl sign/explain: warn signs with the note,
# require signs with the next key or defers with key-dns-mismatch.  Then
# the harness's in-process key check (check_keys) records verdicts; a
# damaged state file is repaired (FILE.bad-*); and last a DNS server that
# does not answer: exit 75, the state file byte for byte.
#
# Needs root, BUILD_DIR/vdkimctl, vdkim.so and vdkim-harness, dnsmasq-base,
# iproute2, swaks.  DNSCHECK_KEEP=1 keeps the work folder;
# DNSCHECK_VERBOSE=1 prints every check.
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TIMEOUT=60

# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${DNSCHECK_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"
# shellcheck source=../lib/dns_netns.sh
. "$ROOT/tests/lib/dns_netns.sh"
# shellcheck source=../lib/ctl.sh
. "$ROOT/tests/lib/ctl.sh"

ctl_setup dnscheck "$@"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-dnscheck.XXXXXX") || exit 2
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_work() {
	if [[ -n ${HPID:-} ]]; then
		kill -TERM "$HPID" 2>/dev/null
		wait "$HPID" 2>/dev/null
	fi
	if [[ -n ${DNSCHECK_KEEP:-} ]]; then
		echo "dnscheck: work folder kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
# shellcheck disable=SC2034 # used by dns_netns.sh's EXIT trap
DNS_NETNS_EXIT_HOOK=cleanup_work
HPID=""
KEYS=$WORK/keys
STATE=$WORK/state/dns-check.state
mkdir -p "$KEYS" "$WORK/other" "$WORK/state"

# keygen DIR SELECTOR [TYPE]: a key of d.test in DIR.
keygen() {
	"$CTL" keygen --selector "$2" --domain d.test --dir "$1" \
		--type "${3:-rsa}" >/dev/null 2>&1 || fatal "keygen $2 failed"
}

# pub FILE.txt: the p= value of a zone line keygen wrote.
pub() {
	grep -o '"[^"]*"' "$1" | tr -d '"\n' | sed 's/.*p=//'
}

# publish SELECTOR TAGS P: the record "v=DKIM1; TAGS p=P" in strings of
# at most 200 bytes.
publish() {
	local rec="v=DKIM1; $2 p=$3" strs=()
	while ((${#rec} > 200)); do
		strs+=("${rec:0:200}")
		rec=${rec:200}
	done
	strs+=("$rec")
	dns_netns_add_txt "$1._domainkey.d.test" "${strs[@]}" ||
		fatal "cannot add the record of $1"
}

# ------------------------------------------------------------- 1. keys

for s in good miss stale revoked testing wrongk sha1; do
	keygen "$KEYS" $s
done
keygen "$WORK/other" stale         # the key DNS holds for stale
keygen "$WORK/other" wrongk ed25519 # the ed25519 record for wrongk

dns_netns_init || fatal "cannot set up the network namespace"
publish good "k=rsa;" "$(pub "$KEYS/good.txt")"
dns_netns_add_nxdomain miss._domainkey.d.test || fatal "nxdomain miss"
publish stale "k=rsa;" "$(pub "$WORK/other/stale.txt")"
dns_netns_add_revoked revoked._domainkey.d.test || fatal "revoked"
publish testing "k=rsa; t=y;" "$(pub "$KEYS/testing.txt")"
publish wrongk "k=ed25519;" "$(pub "$WORK/other/wrongk.txt")"
publish sha1 "k=rsa; h=sha1;" "$(pub "$KEYS/sha1.txt")"
dns_netns_add_nxdomain r1._domainkey.r.test || fatal "nxdomain r1"
dns_netns_start || fatal "dnsmasq did not start"

# ----------------------------------------------------------- 2. config

# conf FILE MODE: every key in a domain-key-list (checked, but outside
# the VMTAs' key search, which is the VMTA's then the global scope); the VMTA
# "a" signs with stale first, then good; "b" only with miss; "c" with
# good only.  MODE is dkim-dns-check's value (empty: not set).
conf() {
	local mode=${2:+dkim-dns-check = $2}
	{
		echo "dns-check-state-file = \"$STATE\""
		echo "domain-key-list all {"
		for s in good miss stale revoked testing wrongk sha1; do
			echo "    domain-key = \"$s,d.test,$KEYS/$s.private\""
		done
		echo "}"
		cat <<EOF
virtual-mta a {
    domain-key = "stale,d.test,$KEYS/stale.private"
    domain-key = "good,d.test,$KEYS/good.private"
    domain "*" { dkim-sign = yes
        $mode }
}
virtual-mta b {
    domain-key = "miss,d.test,$KEYS/miss.private"
    domain "*" { dkim-sign = yes
        dkim-require = yes
        $mode }
}
virtual-mta c {
    domain-key = "good,d.test,$KEYS/good.private"
    domain "*" { dkim-sign = yes
        $mode }
}
EOF
	} >"$1"
}
CONF=$WORK/vdkim.conf
conf "$CONF" ""

# ---------------------------------------------------------- 3. verdicts

ctl check1 check-dns --config "$CONF"
check_rc 1 check1 "check-dns: a key fails at receivers: exit 1"
has_re check1 '^d\.test good OK matching: ' "good: OK matching"
has_re check1 '^d\.test miss FAILS missing: ' "miss: FAILS missing"
has_re check1 '^d\.test stale FAILS mismatched: .*different key' "stale: FAILS mismatched"
has_re check1 '^d\.test revoked FAILS revoked: ' "revoked: FAILS revoked"
has_re check1 '^d\.test testing WARNING testing: .*t=y' "testing: WARNING testing"
has_re check1 '^d\.test wrongk FAILS wrong-type: .*k= says ed25519' "wrongk: FAILS wrong-type"
has_re check1 '^d\.test sha1 FAILS hash-refused: ' "sha1: FAILS hash-refused"
n=$(grep -c '^d\.test ' "$WORK/check1.out")
if [[ $n -eq 7 ]]; then ok "one line per key"; else bad "one line per key ($n lines)" "$WORK/check1.out"; fi
if grep -q '^record d.test stale mismatched ' "$STATE" &&
	grep -q '^record d.test good matching ' "$STATE" &&
	grep -q '^end 7$' "$STATE"; then
	ok "the verdicts are recorded in dns-check-state-file"
else
	bad "state file after check-dns" "$STATE"
fi

ctl good1 check-dns --config "$CONF" --domain d.test
check_rc 1 good1 "check-dns --domain d.test: exit 1"

# Only good and testing: warnings only, exit 2.
CONF2=$WORK/warn-only.conf
printf 'dns-check-state-file = "%s"\ndomain-key = "good,d.test,%s"\ndomain-key = "testing,d.test,%s"\n' \
	"$WORK/state/other.state" "$KEYS/good.private" "$KEYS/testing.private" >"$CONF2"
ctl warnonly check-dns --config "$CONF2"
check_rc 2 warnonly "check-dns with t=y only: exit 2"
printf 'dns-check-state-file = "%s"\ndomain-key = "good,d.test,%s"\n' \
	"$WORK/state/other.state" "$KEYS/good.private" >"$CONF2"
ctl allgood check-dns --config "$CONF2"
check_rc 0 allgood "check-dns with the good key only: exit 0"

ctl ct config-test --config "$CONF"
has_re ct 'dns: mismatched, checked 0d 0h [0-9]+m ago' "config-test shows a key's last DNS verdict and its age"

# ------------------------------------------------- 4. signing follows it

MSG=$WORK/msg.eml
printf 'From: Alice <alice@d.test>\r\nTo: bob@example.org\r\nSubject: dns\r\nMessage-ID: <1@d.test>\r\n\r\nHello.\r\n' >"$MSG"

# signs NAME CONF VMTA: vdkimctl sign; NAME.out the message, NAME.err.
signs() {
	timeout "$TIMEOUT" "$CTL" sign --config "$2" --vmta "$3" <"$MSG" \
		>"$WORK/$1.out" 2>"$WORK/$1.err"
	RC=$?
}
selector_of() {
	tr -d '\r' <"$WORK/$1.out" | sed -n '1,/^$/p' | tr -d ' \t\n' |
		grep -o ';s=[a-z0-9]*;' | head -1
}

for mode in "" warn; do
	conf "$CONF" "$mode"
	signs warn.$mode "$CONF" a
	if [[ $RC -eq 0 && $(selector_of warn.$mode) == ";s=stale;" ]]; then
		ok "dkim-dns-check ${mode:-(default)}: the failed key still signs"
	else
		bad "dkim-dns-check ${mode:-(default)}: sign" "$WORK/warn.$mode.out" "$WORK/warn.$mode.err"
	fi
	has_re warn.$mode 'note \(dns-mismatch\)' "dkim-dns-check ${mode:-(default)}: the note dns-mismatch"
done
CTL_IN=$MSG ctl explain.warn explain --config "$CONF" --vmta b
check_rc 0 explain.warn "warn: explain signs with miss"
has_re explain.warn 'dns-missing' "warn: explain gives the note dns-missing"

conf "$CONF" off
signs off "$CONF" a
hasnt off 'dns-mismatch' "dkim-dns-check off: no note"

conf "$CONF" require
signs req.a "$CONF" a
if [[ $RC -eq 0 && $(selector_of req.a) == ";s=good;" ]]; then
	ok "require: the next key (good) signs"
else
	bad "require: the next key signs" "$WORK/req.a.out" "$WORK/req.a.err"
fi
signs req.b "$CONF" b
check_rc 75 req.b "require under dkim-require, no other key: deferred (exit 75)"
CTL_IN=$MSG ctl explain.req explain --config "$CONF" --vmta b
check_rc 2 explain.req "require: explain says deferred"
has_re explain.req 'key-dns-mismatch' "require: reason key-dns-mismatch"

# A key never checked is not failed.
mv "$STATE" "$WORK/state.saved"
signs unchecked "$CONF" b
if [[ $RC -eq 0 && $(selector_of unchecked) == ";s=miss;" ]]; then
	ok "require: a key never checked signs"
else
	bad "require: a key never checked signs" "$WORK/unchecked.out" "$WORK/unchecked.err"
fi
mv "$WORK/state.saved" "$STATE"

# ----------------------------------------------------- 5. damaged state

conf "$CONF" warn
cp "$STATE" "$WORK/state.good"
{ head -n 4 "$WORK/state.good"; echo "record d.test"; echo "garbage here"; } >"$STATE"
ctl ct.bad config-test --config "$CONF"
has_re ct.bad 'DNS check state file is damaged' "a host's load with a damaged file (warn): loads, warns"
signs damaged.warn "$CONF" a
check_rc 0 damaged.warn "warn: a damaged file signs (keys unchecked)"
conf "$CONF" require
signs damaged.req "$CONF" a
check_rc 78 damaged.req "require: a damaged file fails the load, exit 78 (a reload keeps the old policy)"
has_re damaged.req 'check-dns keeps its readable records and repairs it' "the error names the repair, not a failing command"
cp "$STATE" "$WORK/state.damaged"
ctl repair check-dns --config "$CONF"
check_rc 1 repair "check-dns on a damaged file: runs (exit 1, keys fail)"
has_re repair 'repaired the damaged .*moved aside as .*\.bad-[0-9]{8}T[0-9]{6}Z, [0-9]+ readable records? kept' "check-dns repairs: one line"
bad_copy=$(ls "$STATE".bad-* 2>/dev/null | head -1)
if [[ -n $bad_copy ]] && cmp -s "$bad_copy" "$WORK/state.damaged" &&
	grep -q '^end 7$' "$STATE"; then
	ok "the damaged file is kept as .bad-*, the new one complete"
else
	bad "the .bad- copy or the new file" "$STATE"
fi
rm -f "$STATE".bad-*

# The rotation state file is repaired the same way.
RSTATE=$WORK/state/rotation.state
mkdir -p "$WORK/rkeys/r.test"
"$CTL" keygen --selector r1 --domain r.test --dir "$WORK/rkeys/r.test" >/dev/null 2>&1
cat >"$WORK/rot.conf" <<EOF
dkim-rotation list {
    selector = "r1,2020-01-01"
    key-dir = "$WORK/rkeys/%d"
    state-file = "$RSTATE"
}
dkim-rotation-key = "list,r.test"
domain "*" { dkim-sign = yes }
EOF
printf 'vdkim-rotation-state 1\nrecord r.test r1 matching 1 2\n' >"$RSTATE"
ctl rot.bad rotation check --config "$WORK/rot.conf"
has_re rot.bad 'repaired the damaged .*rotation.state.*moved aside as' "rotation check repairs a damaged rotation state file"
if ls "$RSTATE".bad-* >/dev/null 2>&1 && grep -q '^end 1$' "$RSTATE"; then
	ok "rotation: the .bad- copy, and a complete file"
else
	bad "rotation: repair" "$RSTATE" "$WORK/rot.bad.out" "$WORK/rot.bad.err"
fi

# ------------------------------------------------------------ 6. harness

# The harness's periodic in-process key check (check_keys) records the DNS
# verdicts beside rotation's.
conf "$CONF" warn
rm -f "$STATE"
HDIR=$WORK/harness
mkdir -p "$HDIR/spool" "$HDIR/md"
cp "$CONF" "$HDIR/vdkim.conf"
cat >>"$HDIR/vdkim.conf" <<EOF
harness {
    module = "$BUILD/vdkim.so"
    spool-directory = "$HDIR/spool"
    listener in { address = "127.0.0.1:2527" }
    maildir = "$HDIR/md"
    log-file = "$HDIR/log"
    rotation-check = yes
    rotation-check-interval = 3600
}
EOF
ip netns exec "$DNS_NETNS" "$BUILD/vdkim-harness" --config "$HDIR/vdkim.conf" &
HPID=$!
for ((i = 0; i < 150; i++)); do
	grep -q "key check done: " "$HDIR/log" 2>/dev/null && break
	sleep 0.1
done
kill -TERM "$HPID" 2>/dev/null
wait "$HPID" 2>/dev/null
HPID=""
if grep -q "key check: d.test stale FAILS mismatched" "$HDIR/log" &&
	grep -q "key check done: broken" "$HDIR/log" &&
	grep -q '^record d.test stale mismatched ' "$STATE"; then
	ok "harness: check_keys records the DNS verdicts and logs them"
else
	bad "harness: check_keys and the DNS check" "$HDIR/log"
fi
if grep -q "module reloaded" "$HDIR/log"; then
	ok "harness: reloads after the check recorded verdicts"
else
	bad "harness: no reload after the DNS check" "$HDIR/log"
fi

# ---------------------------------------------------------- 7. DNS down

cp "$STATE" "$WORK/state.before"
kill "$DNS_NETNS_PID" 2>/dev/null
wait "$DNS_NETNS_PID" 2>/dev/null
DNS_NETNS_PID=""
ctl down check-dns --config "$CONF"
check_rc 75 down "DNS does not answer: exit 75 (temporary)"
has_re down 'NO ANSWER dns-error' "DNS down: said per key"
if cmp -s "$STATE" "$WORK/state.before"; then
	ok "DNS down: the state file is byte for byte the same"
else
	bad "DNS down: the state file changed" "$STATE"
fi

finish
