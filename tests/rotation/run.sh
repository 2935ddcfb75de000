#!/usr/bin/env bash
# tests/rotation/run.sh BUILD_DIR - selector rotation against a real DNS
# server (dnsmasq in a private network namespace), with the clock moved
# by --time.
#
#   bash tests/rotation/run.sh build      (the Makefile's "rotation" step)
#
# Needs root, BUILD_DIR/vdkimctl, vdkim.so and vdkim-harness, dnsmasq-base,
# iproute2, swaks and python3-dkim (for /usr/bin/python3).  A quarterly schedule "k%Yq%Q" in 2030; five
# domains, each a case:
#
#   ok.test     k2030q2 published early: cutover on 2030-04-01
#   miss.test   k2030q2 not published: held back (not published), then
#               published: cutover publish-ahead after it is seen
#   mism.test   k2030q2 published with another key: held back (different
#               key), then fixed: cutover likewise
#   late.test   k2030q2's key appears on 03-28: held back on 04-01 (too
#               recently), cutover on 04-04
#   split.test  records split over three strings at odd places
#
# Then overlap and retire, and a DNS server that does not answer (nothing
# recorded, decisions unchanged, exit 75).  Messages signed before and
# after each cutover are verified by dkimpy over the same DNS.  Last,
# vdkim.so in the harness on the real clock: a held-back selector's
# warning in the module's log line, and the harness's periodic checker.
#
# Environment: ROTATION_KEEP=1 keeps the work folder; ROTATION_VERBOSE=1
# prints every check.
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3 # Debian's python3 with python3-dkim
TIMEOUT=60

# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${ROTATION_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"
# shellcheck source=../lib/dns_netns.sh
. "$ROOT/tests/lib/dns_netns.sh"
# shellcheck source=../lib/ctl.sh
. "$ROOT/tests/lib/ctl.sh"

ctl_setup rotation "$@"
"$PY" -c 'import dkim, dns.resolver' 2>/dev/null ||
	{ echo "rotation: $PY cannot import dkim (python3-dkim)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-rotation.XXXXXX") || exit 2
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_work() {
	if [[ -n ${ROTATION_KEEP:-} ]]; then
		echo "rotation: work folder kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
# shellcheck disable=SC2034 # used by dns_netns.sh's EXIT trap
DNS_NETNS_EXIT_HOOK=cleanup_work

DOMAINS=(ok.test miss.test mism.test late.test split.test)
CONF=$WORK/vdkim.conf
STATE=$WORK/state/rotation.state
mkdir -p "$WORK/state" "$WORK/msgs" "$WORK/hold" "$WORK/other"

# at DATE: seconds since 1970 of DATE (UTC).
at() {
	date -u -d "$1" +%s
}

# sign DOMAIN DATE WANT_SELECTOR [NOTE]: signs a message from DOMAIN at
# DATE; it must carry s=WANT_SELECTOR, and stderr the note (or none).
# The signed message is kept as msgs/DOMAIN.DATE.eml for dkimpy.
sign() {
	local dom=$1 date=$2 want=$3 note=${4:-} name=sign.$1.$2
	local msg=$WORK/msgs/$dom.$date.eml
	printf 'From: Alice <alice@%s>\r\nTo: bob@example.org\r\nSubject: rotation %s\r\nDate: Mon, 1 Apr 2030 00:00:00 +0000\r\nMessage-ID: <%s.%s@%s>\r\n\r\nHello at %s.\r\n' \
		"$dom" "$date" "$date" "$RANDOM" "$dom" "$date" >"$WORK/$name.in"
	timeout "$TIMEOUT" "$CTL" sign --config "$CONF" --vmta default \
		--time "$(at "$date")" <"$WORK/$name.in" >"$msg" 2>"$WORK/$name.err"
	RC=$?
	cp "$msg" "$WORK/$name.out"
	# The header unfolded, without white space: tags are ";s=...;".
	if [[ $RC -ne 0 ]] || ! tr -d '\r' <"$msg" | sed -n '1,/^$/p' |
		tr -d ' \t\n' | grep -q ";s=$want;"; then
		bad "$dom at $date signs with s=$want" "$msg" "$WORK/$name.err"
		return
	fi
	ok "$dom at $date signs with s=$want"
	if [[ -z $note ]]; then
		hasnt "$name" "note (" "$dom at $date: no warning"
	else
		has "$name" "$note" "$dom at $date: warning \"$note\""
	fi
}

# dkimpy FILE...: every file verifies (dkimpy, keys over our DNS).
dkimpy() {
	local out
	if out=$(timeout "$TIMEOUT" ip netns exec "$DNS_NETNS" "$PY" \
		"$ROOT/tests/peers/dkimpy_peer.py" verify "$@" 2>&1); then
		ok "dkimpy verifies ${#@} message(s): $(basename "$1") ..."
	else
		bad "dkimpy verifies $*" "$out"
	fi
}

# ------------------------------------------------------------ 1. config

{
	cat <<EOF
# selectors rotate every quarter; keys in $WORK/keys/DOMAIN
dkim-rotation quarterly {
    selector-pattern = "k%Yq%Q"
    period = quarterly
    key-dir = "$WORK/keys/%d"
    algorithm = rsa-sha256
    publish-ahead = 7d
    overlap = 14d
    state-file = "$STATE"
}
EOF
	for d in "${DOMAINS[@]}"; do
		echo "dkim-rotation-key = \"quarterly,$d\""
	done
	echo 'domain "*" { dkim-sign = yes }'
} >"$CONF"

dns_netns_init || fatal "cannot set up the network namespace"

ctl prepare rotation prepare --config "$CONF" --time "$(at 2030-03-01)" --periods 1
check_rc 0 prepare "prepare makes the keys of 2030q1 and 2030q2"
hasnt prepare "error:" "prepare: no error line while it makes the keys the config names"
for d in "${DOMAINS[@]}"; do
	for s in k2030q1 k2030q2; do
		[[ -s $WORK/keys/$d/$s.private && -s $WORK/keys/$d/$s.txt ]] ||
			bad "prepare: $WORK/keys/$d/$s.private or .txt missing"
	done
done
has prepare "k2030q2._domainkey.ok.test. IN TXT (" "prepare prints the records"
has prepare "publish by 2030-03-25" "prepare says when to publish"
if grep -o '"[^"]*"' "$WORK/prepare.out" | awk 'length($0) > 257 { bad = 1 } END { exit bad }'; then
	ok "prepare: every TXT string is at most 255 bytes"
else
	bad "prepare: a TXT string is longer than 255 bytes" "$WORK/prepare.out"
fi
ctl prepare2 rotation prepare --config "$CONF" --time "$(at 2030-03-01)" --periods 1
check_rc 0 prepare2 "prepare again keeps the keys"
has prepare2 "(key $WORK/keys/ok.test/k2030q2.private)" "prepare again prints the existing key's record"

# late.test's next key appears only on 03-28; mism.test's DNS holds
# another key for k2030q2.
mv "$WORK/keys/late.test/k2030q2.private" "$WORK/hold/"
"$CTL" keygen --selector k2030q2 --domain mism.test --dir "$WORK/other" \
	>/dev/null 2>&1 || fatal "keygen for mism.test's other key failed"

# split: the value cut in three strings at odd places.
split_txt() {
	local name=$1 value
	value=$(tr -d '\n\t' <"$2" | grep -o '"[^"]*"' | tr -d '"' | tr -d '\n')
	dns_netns_add_txt "$name" "${value:0:40}" "${value:40:211}" "${value:251}"
}

# ------------------------------------------------------------ 2. phase 1 DNS

publish_phase() {
	local fixed=$1
	dns_netns_add_zone "$WORK/keys/ok.test/k2030q1.txt" "$WORK/keys/ok.test/k2030q2.txt" \
		"$WORK/keys/miss.test/k2030q1.txt" "$WORK/keys/mism.test/k2030q1.txt" \
		"$WORK/keys/late.test/k2030q1.txt" "$WORK/keys/late.test/k2030q2.txt" ||
		return 1
	split_txt k2030q1._domainkey.split.test "$WORK/keys/split.test/k2030q1.txt" || return 1
	split_txt k2030q2._domainkey.split.test "$WORK/keys/split.test/k2030q2.txt" || return 1
	if ((fixed)); then
		dns_netns_add_zone "$WORK/keys/miss.test/k2030q2.txt" \
			"$WORK/keys/mism.test/k2030q2.txt" || return 1
	else
		dns_netns_add_zone "$WORK/other/k2030q2.txt" || return 1
	fi
	dns_netns_start
}
publish_phase 0 || fatal "dnsmasq (phase 1) did not start"

ctl check1 rotation check --config "$CONF" --time "$(at 2030-03-01)"
check_rc 2 check1 "check on 03-01: exit 2 (the first selectors were only just seen)"
has check1 "ok.test k2030q2 matching" "check: ok.test k2030q2 matching"
has check1 "split.test k2030q2 matching" "check: a TXT record split over three strings matches"
has check1 "miss.test k2030q2 missing" "check: miss.test k2030q2 missing"
has check1 "mism.test k2030q2 mismatched" "check: mism.test k2030q2 mismatched"
has check1 "ok.test: HELD no selector is ready yet: s=k2030q1 signs" "check: a new schedule signs with the key it sees in DNS, and says so"
[[ -s $STATE ]] && ok "check writes the state file" || bad "no state file $STATE"

sign ok.test 2030-03-31 k2030q1
sign split.test 2030-03-31 k2030q1
dkimpy "$WORK/msgs/ok.test.2030-03-31.eml" "$WORK/msgs/split.test.2030-03-31.eml"

# late.test's key arrives on 03-28.
mv "$WORK/hold/k2030q2.private" "$WORK/keys/late.test/"
ctl check2 rotation check --config "$CONF" --time "$(at 2030-03-28)"
check_rc 2 check2 "check on 03-28: exit 2 (selectors that cannot be ready on 04-01)"
has check2 "miss.test: NOT READY selector k2030q2" "check: miss.test will be held back"
has check2 "late.test: NOT READY selector k2030q2" "check: late.test will be held back"
hasnt check2 "ok.test: NOT READY" "check: ok.test is ready"

ctl plan1 rotation plan --config "$CONF" --time "$(at 2030-03-28)" --domain ok.test
check_rc 0 plan1 "plan runs"
has plan1 "k2030q2          2030-03-25 00:00 UTC  2030-04-01 00:00 UTC" "plan: publish by and current from"
has plan1 "matching" "plan: DNS status now"
has plan1 "publish-ahead 7d  overlap 14d" "plan: durations in days and hours"

# ------------------------------------------------------------ 3. cutover

sign ok.test 2030-04-01 k2030q2
sign split.test 2030-04-01 k2030q2
sign miss.test 2030-04-01 k2030q1 "not published in DNS"
sign mism.test 2030-04-01 k2030q1 "published with a different key"
sign late.test 2030-04-01 k2030q1 "published too recently"
sign late.test 2030-04-04 k2030q2
dkimpy "$WORK/msgs/ok.test.2030-04-01.eml" "$WORK/msgs/split.test.2030-04-01.eml" \
	"$WORK/msgs/miss.test.2030-04-01.eml" "$WORK/msgs/mism.test.2030-04-01.eml" \
	"$WORK/msgs/late.test.2030-04-01.eml" "$WORK/msgs/late.test.2030-04-04.eml"

ctl explain1 explain --config "$CONF" --vmta default --time "$(at 2030-04-01)" \
	<"$WORK/sign.miss.test.2030-04-01.in"
check_rc 0 explain1 "explain --time: signed"
has explain1 "note: rotation-held" "explain --time: the held-back note"

# ------------------------------------------------------------ 4. fixed

dns_netns_cleanup
_dns_netns_names=() _dns_netns_local=() _dns_netns_first_name=""
dns_netns_init || fatal "cannot set up the network namespace again"
publish_phase 1 || fatal "dnsmasq (phase 2) did not start"

ctl check3 rotation check --config "$CONF" --time "$(at 2030-04-05)"
check_rc 2 check3 "check on 04-05: exit 2 (still held back)"
has check3 "miss.test k2030q2 matching" "check: miss.test fixed"
has check3 "mism.test k2030q2 matching" "check: mism.test fixed"
sign miss.test 2030-04-06 k2030q1 "published too recently"
sign miss.test 2030-04-12 k2030q2
sign mism.test 2030-04-12 k2030q2
dkimpy "$WORK/msgs/miss.test.2030-04-06.eml" "$WORK/msgs/miss.test.2030-04-12.eml" \
	"$WORK/msgs/mism.test.2030-04-12.eml"
ctl check4 rotation check --config "$CONF" --time "$(at 2030-04-12)"
check_rc 0 check4 "check on 04-12: exit 0 (all signing with their current selector)"

# ------------------------------------------------------------ 5. retire

ctl retire1 rotation retire --config "$CONF" --time "$(at 2030-04-10)"
check_rc 0 retire1 "retire on 04-10 runs"
hasnt retire1 "k2030q1._domainkey.ok.test" "retire on 04-10: ok.test's k2030q1 is still in its overlap"
ctl retire2 rotation retire --config "$CONF" --time "$(at 2030-04-16)"
has retire2 "k2030q1._domainkey.ok.test may be removed" "retire on 04-16: ok.test's k2030q1"
has retire2 "k2030q1._domainkey.split.test may be removed" "retire on 04-16: split.test's k2030q1"
hasnt retire2 "k2030q1._domainkey.late.test" "retire on 04-16: not late.test's k2030q1 (used until 04-04, + 14d)"
hasnt retire2 "k2030q1._domainkey.miss.test" "retire on 04-16: not miss.test's k2030q1 (04-12 + 14d)"
hasnt retire2 "k2030q2" "retire: never a selector in use"

# ------------------------------------------------------------ 6. DNS down

cp "$STATE" "$WORK/state.before"
kill "$DNS_NETNS_PID" 2>/dev/null
wait "$DNS_NETNS_PID" 2>/dev/null
DNS_NETNS_PID=""
start=$(date +%s)
ctl check5 rotation check --config "$CONF" --time "$(at 2030-04-20)"
took=$(($(date +%s) - start))
check_rc 75 check5 "check with DNS down: exit 75 (temporary)"
has check5 "dns-error" "check with DNS down: says dns-error"
if cmp -s "$STATE" "$WORK/state.before"; then
	ok "check with DNS down: the state file is unchanged"
else
	bad "check with DNS down changed the state file" "$(diff "$WORK/state.before" "$STATE")"
fi
((took <= 30)) && ok "check with DNS down ends in ${took}s" ||
	bad "check with DNS down took ${took}s"
sign ok.test 2030-04-20 k2030q2
sign mism.test 2030-04-20 k2030q2

# ------------------------------------------------------------ 7. harness

# vdkim.so in the harness, on the real clock: now.test's schedule is an
# explicit list whose newer selector began yesterday but is recorded as
# not published, so every message is signed with the older one and the
# module's log line says why.  The harness's periodic checker runs too:
# with DNS down it records nothing and does not reload.
now=$(date +%s)
HDIR=$WORK/harness
mkdir -p "$HDIR/keys/now.test" "$HDIR/spool" "$HDIR/md"
for s in old new; do
	"$CTL" keygen --selector $s --domain now.test --dir "$HDIR/keys/now.test" \
		>/dev/null 2>&1 || bad "keygen $s for now.test"
done
printf 'vdkim-rotation-state 1\nrecord now.test new missing 0 %s\nrecord now.test old matching %s %s\nend 2\n' \
	$((now - 3600)) $((now - 60 * 86400)) $((now - 3600)) >"$HDIR/state"
cp "$HDIR/state" "$HDIR/state.before"
cat >"$HDIR/vdkim.conf" <<EOF
dkim-rotation list {
    selector = "old,$(date -u -d @$((now - 90 * 86400)) +%F)"
    selector = "new,$(date -u -d @$((now - 86400)) +%F)"
    key-dir = "$HDIR/keys/%d"
    state-file = "$HDIR/state"
}
dkim-rotation-key = "list,now.test"
domain "*" { dkim-sign = yes }
harness {
    module = "$BUILD/vdkim.so"
    spool-directory = "$HDIR/spool"
    listener in { address = "127.0.0.1:2526" }
    maildir = "$HDIR/md"
    log-file = "$HDIR/log"
    rotation-check = yes
    rotation-check-interval = 3600
}
EOF
ip netns exec "$DNS_NETNS" "$BUILD/vdkim-harness" --config "$HDIR/vdkim.conf" &
HPID=$!
for ((i = 0; i < 100; i++)); do
	grep -q "key check done: " "$HDIR/log" 2>/dev/null &&
		grep -q "running as" "$HDIR/log" && break
	sleep 0.1
done
if timeout 60 ip netns exec "$DNS_NETNS" swaks --server 127.0.0.1:2526 \
	--timeout 30 --from alice@now.test --to bob@example.org \
	--header "From: alice@now.test" >"$HDIR/swaks.out" 2>&1; then
	ok "harness: message accepted"
else
	bad "harness: swaks failed" "$HDIR/swaks.out"
fi
for ((i = 0; i < 100; i++)); do
	[[ -n $(ls "$HDIR/md/new" 2>/dev/null) ]] && break
	sleep 0.1
done
kill -TERM "$HPID" 2>/dev/null
wait "$HPID"
if grep -q "signed d=now.test s=old note=rotation-held: selector new .*not published" "$HDIR/log"; then
	ok "harness: the module's log line says why the new selector is held back"
else
	bad "harness: no rotation-held line in the module's log" "$HDIR/log"
fi
if grep -q "key check done: dns-down" "$HDIR/log" && ! grep -q "module reloaded" "$HDIR/log"; then
	ok "harness: the periodic in-process key check with DNS down: no reload"
else
	bad "harness: periodic check" "$HDIR/log"
fi
if grep -q "vdkim: key check: now.test new dns-error" "$HDIR/log" &&
	cmp -s "$HDIR/state" "$HDIR/state.before"; then
	ok "harness: the key check's findings are logged; the state file is unchanged"
else
	bad "harness: the key check with DNS down changed the state file or logged nothing" "$HDIR/log"
fi
if grep -qs "s=old;" "$HDIR"/md/new/*; then
	ok "harness: delivered signed with s=old"
else
	bad "harness: the delivered message is not signed with s=old" "$HDIR/log"
fi

# ------------------------------------------------------------ 8. bad state

printf 'vdkim-rotation-state 1\nrecord ok.test k2030q1 matching 1 2\n' >"$WORK/state.trunc"
cp "$WORK/state.trunc" "$STATE"
ctl badstate config-test --config "$CONF"
check_rc 78 badstate "config-test with a truncated state file: exit 78"
has badstate "rotation.state:2: the file is truncated" "truncated state: FILE:LINE and why"

finish
