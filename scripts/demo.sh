#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR - what a new user sees first.
#
# Real mail, end to end, on loopback inside a private network namespace
# (the machine's own resolver and ports are untouched):
#   1. keys for example.com (RSA-2048 and Ed25519), published on a DNS
#      server (dnsmasq) that runs in the namespace;
#   2. two harness MTAs: A loads vdkim.so and signs per its policy, then
#      relays to B, which delivers to a Maildir;
#   3. swaks submits messages to A: one signed with RSA, one dual-signed
#      RSA + Ed25519, one through a virtual MTA that does not sign;
#   4. what B received is checked by four independent verifiers fetching
#      the keys over DNS: vdkimctl, dkimpy, Mail::DKIM (RSA only: Debian
#      12's version has no Ed25519) and libopendkim; then a tampered copy.
# Every verdict is also checked against what it must be, and the demo ends
# with "N passed, N failed" (make check runs it as a test).
# Needs root (ip netns).
set -euo pipefail

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
VDKIMCTL=$BUILD/vdkimctl
HARNESS=$BUILD/vdkim-harness
PEERS=$ROOT/tests/peers
PY=/usr/bin/python3

WORK=$(mktemp -d /tmp/vdkim-demo.XXXXXX)
PIDS=()
demo_cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
DNS_NETNS_EXIT_HOOK=demo_cleanup
# shellcheck source=../tests/lib/dns_netns.sh
. "$ROOT/tests/lib/dns_netns.sh"

# shellcheck source=../tests/lib/report.sh
. "$ROOT/tests/lib/report.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. Keys for example.com (vdkimctl keygen), published over DNS"
mkdir -p "$WORK/keys"
"$VDKIMCTL" keygen --selector demo-rsa --domain example.com --dir "$WORK/keys"
"$VDKIMCTL" keygen --selector demo-ed --domain example.com --type ed25519 \
    --dir "$WORK/keys"
dns_netns_init
dns_netns_add_zone "$WORK/keys/demo-rsa.txt" "$WORK/keys/demo-ed.txt"
dns_netns_start
echo "dnsmasq answers on 127.0.0.1:53 in network namespace $DNS_NETNS"

say "2. Two harness MTAs: A signs (vdkim.so) and relays to B, B writes a Maildir"
A_PORT=2525
B_PORT=2526
mkdir -p "$WORK/maildir"
cat > "$WORK/a.conf" <<EOF
# The module's policy (see conf-examples/README.md) ...
domain-key = "demo-rsa,example.com,$WORK/keys/demo-rsa.private"
domain-key = "demo-ed,example.com,$WORK/keys/demo-ed.private"
virtual-mta news {
    domain "*" {
        dkim-sign = yes
    }
}
virtual-mta dual {
    domain "*" {
        dkim-sign = yes
        dkim-algorithm = rsa-sha256
        second-dkim-sign = yes
        second-dkim-algorithm = ed25519-sha256
    }
}
virtual-mta bulk-unsigned {
    domain "*" {
        dkim-sign = no
    }
}
# ... and the harness's own settings.
harness {
    module = "$BUILD/vdkim.so"
    spool-directory = "$WORK/spool-a"
    log-file = "$WORK/a.log"
    accounting-file = "$WORK/a.acct"
    default-virtual-mta = "news"
    listener submission {
        address = "127.0.0.1:$A_PORT"
        source = "submission"
        allow-x-virtual-mta = yes
    }
    smarthost = "127.0.0.1:$B_PORT"
}
EOF
cat > "$WORK/b.conf" <<EOF
harness {
    module = "$BUILD/vdkim.so"
    spool-directory = "$WORK/spool-b"
    log-file = "$WORK/b.log"
    accounting-file = "$WORK/b.acct"
    listener in {
        address = "127.0.0.1:$B_PORT"
        source = "relay"
    }
    maildir = "$WORK/maildir"
}
EOF
for h in b a; do
	dns_netns_exec "$HARNESS" --config "$WORK/$h.conf" &
	PIDS+=($!)
done
for _ in $(seq 50); do
	grep -qs "listening" "$WORK/a.log" && grep -qs "listening" "$WORK/b.log" && break
	sleep 0.1
done
echo "A on 127.0.0.1:$A_PORT (signs), B on 127.0.0.1:$B_PORT (Maildir)"

say "3. swaks submits three messages to A"
submit() {
	local vmta=$1 id=$2 subject=$3
	dns_netns_exec swaks --silent 2 --server "127.0.0.1:$A_PORT" \
	    --from alice@example.com --to bob@example.net \
	    --h-Subject "$subject" --h-Message-ID "<$id@example.com>" \
	    --h-X-Virtual-MTA "$vmta" \
	    --body "Hello Bob,

this message went through virtual MTA $vmta.   Three spaces, a trailing one 
and two empty lines at the end, to exercise canonicalization.


"
	echo "  $id: via $vmta, accepted"
}
submit news demo-1 "Signed with RSA"
submit dual demo-2 "Signed with RSA and Ed25519"
submit bulk-unsigned demo-3 "Not signed: its VMTA says dkim-sign no"
for _ in $(seq 100); do
	[ "$(find "$WORK/maildir/new" -type f 2>/dev/null | wc -l)" -ge 3 ] && break
	sleep 0.1
done
echo "A's accounting (one line per delivery):"
sed 's/^/  /' "$WORK/a.acct"

# expect WHAT RESULT OUTPUT: every "dkim=" verdict in OUTPUT is RESULT.
expect() {
	local what=$1 want=$2 out=$3 got
	got=$(printf '%s\n' "$out" | grep -o 'dkim=[a-z]*' | sort -u |
	    tr '\n' ' ')
	if [[ $got == "dkim=$want " ]]; then
		ok "$what: $want"
	else
		bad "$what: expected dkim=$want, got ${got:-nothing}" "$out"
	fi
}

# verify_all FILE RESULT: the four verifiers, over DNS.
verify_all() {
	local f=$1 want=$2 out
	echo "-- vdkimctl verify:"
	out=$(dns_netns_exec "$VDKIMCTL" verify < "$f" || true)
	printf '%s\n' "$out" | sed 's/^/   /'
	expect "vdkimctl $(basename "$f")" "$want" "$out"
	echo "-- dkimpy:"
	out=$(dns_netns_exec "$PY" "$PEERS/dkimpy_peer.py" verify "$f" || true)
	printf '%s\n' "$out" | sed 's/^[^ ]* /   /'
	expect "dkimpy $(basename "$f")" "$want" "$out"
	echo "-- Mail::DKIM:"
	out=$(dns_netns_exec perl "$PEERS/maildkim_peer.pl" verify "$f" || true)
	printf '%s\n' "$out" | sed 's/^[^ ]* /   /'
	expect "Mail::DKIM $(basename "$f")" "$want" \
	    "$(printf '%s\n' "$out" | grep -v 'a=ed25519-sha256')"
	echo "-- libopendkim:"
	out=$(dns_netns_exec "$BUILD/peers/opendkim_peer" verify "$f" || true)
	printf '%s\n' "$out" | sed 's/^[^ ]* /   /'
	expect "libopendkim $(basename "$f")" "$want" "$out"
}

say "4. What B delivered, checked by four verifiers over DNS"
for id in demo-1 demo-2 demo-3; do
	f=$(grep -l "Message-ID: <$id@example.com>" "$WORK"/maildir/new/* \
	    2>/dev/null | head -n 1 || true)
	if [[ -z $f ]]; then
		bad "$id: delivered to B's Maildir" "$WORK/a.log" "$WORK/b.log"
		continue
	fi
	echo
	echo "Message $id ($(grep -m1 '^Subject:' "$f"))"
	echo "  DKIM-Signature fields: $(grep -c '^DKIM-Signature:' "$f" || true)"
	[[ $id == demo-3 ]] && want=none || want=pass
	verify_all "$f" "$want"
done

say "5. The dual-signed message with one word of its body changed"
f=$(grep -l "Message-ID: <demo-2@example.com>" "$WORK"/maildir/new/* \
    2>/dev/null | head -n 1 || true)
if [[ -n $f ]]; then
	sed 's/Three spaces/Four spaces/' "$f" > "$WORK/tampered.eml"
	verify_all "$WORK/tampered.eml" fail
fi

say "Done"
echo "Try: $VDKIMCTL help; the harness: $HARNESS --config FILE (harness/README.md)"
finish
