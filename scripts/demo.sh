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

verify_all() {
	local f=$1
	echo "-- vdkimctl verify:"
	dns_netns_exec "$VDKIMCTL" verify < "$f" | sed 's/^/   /' || true
	echo "-- dkimpy:"
	dns_netns_exec "$PY" "$PEERS/dkimpy_peer.py" verify "$f" | sed 's/^[^ ]* /   /' || true
	echo "-- Mail::DKIM:"
	dns_netns_exec perl "$PEERS/maildkim_peer.pl" verify "$f" | sed 's/^[^ ]* /   /' || true
	echo "-- libopendkim:"
	dns_netns_exec "$BUILD/peers/opendkim_peer" verify "$f" | sed 's/^[^ ]* /   /' || true
}

say "4. What B delivered, checked by four verifiers over DNS"
for id in demo-1 demo-2 demo-3; do
	f=$(grep -l "Message-ID: <$id@example.com>" "$WORK"/maildir/new/* | head -n 1)
	echo
	echo "Message $id ($(grep -m1 '^Subject:' "$f"))"
	echo "  DKIM-Signature fields: $(grep -c '^DKIM-Signature:' "$f" || true)"
	verify_all "$f"
done

say "5. The dual-signed message with one word of its body changed"
f=$(grep -l "Message-ID: <demo-2@example.com>" "$WORK"/maildir/new/* | head -n 1)
sed 's/Three spaces/Four spaces/' "$f" > "$WORK/tampered.eml"
verify_all "$WORK/tampered.eml"

say "Done"
echo "Try: $VDKIMCTL help; the harness: $HARNESS --config FILE (harness/README.md)"
