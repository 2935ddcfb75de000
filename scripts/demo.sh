#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR - what a new user sees first.
#
# Generates an RSA-2048 and an Ed25519 key for example.com, publishes them
# on a private DNS server (dnsmasq, in a network namespace of its own, so
# the machine's resolver is untouched), signs a real message with both
# keys in one pass, and has four independent verifiers fetch the keys over
# DNS and check it: vdkimctl, dkimpy, Mail::DKIM (RSA only: Debian 12's
# version has no Ed25519) and libopendkim.  Then it tampers with the
# message and shows the verifiers failing it.  Needs root (ip netns).
set -euo pipefail

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
VDKIMCTL=$BUILD/vdkimctl
PEERS=$ROOT/tests/peers
PY=/usr/bin/python3

WORK=$(mktemp -d /tmp/vdkim-demo.XXXXXX)
demo_cleanup() { rm -rf "$WORK"; }
DNS_NETNS_EXIT_HOOK=demo_cleanup
# shellcheck source=../tests/lib/dns_netns.sh
. "$ROOT/tests/lib/dns_netns.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. Keys for example.com (vdkimctl keygen)"
"$VDKIMCTL" keygen --selector demo-rsa --domain example.com --dir "$WORK"
"$VDKIMCTL" keygen --selector demo-ed --domain example.com --type ed25519 \
    --dir "$WORK"

say "2. A DNS server publishing them (dnsmasq in a private network namespace)"
dns_netns_init
dns_netns_add_zone "$WORK/demo-rsa.txt" "$WORK/demo-ed.txt"
dns_netns_start
echo "namespace $DNS_NETNS: dnsmasq on 127.0.0.1:53 answers:"
dns_netns_exec "$PY" - <<'PY'
import dns.resolver
for n in ("demo-rsa._domainkey.example.com", "demo-ed._domainkey.example.com"):
    a = dns.resolver.resolve(n, "TXT")
    strings = a[0].strings
    print("  %s: %d string(s), %d bytes" % (n, len(strings), sum(map(len, strings))))
PY

say "3. A message, signed with RSA-2048 and Ed25519 in one pass"
cat > "$WORK/message.eml" <<'MSG'
From: Alice Example <alice@example.com>
To: Bob <bob@example.net>
Subject: Quarterly report
Date: Mon, 23 Nov 2026 09:00:00 +0000
Message-ID: <demo-1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello Bob,

the report is attached in spirit.   Three spaces, a trailing one 
and two empty lines at the end, to exercise canonicalization.

Alice


MSG
"$VDKIMCTL" sign --domain example.com \
    --selector demo-rsa --key "$WORK/demo-rsa.private" \
    --selector demo-ed --key "$WORK/demo-ed.private" \
    < "$WORK/message.eml" > "$WORK/signed.eml"
sed -n '1,/^$/p' "$WORK/signed.eml"

verify_all() {
	local f=$1
	echo "-- vdkimctl verify (keys over DNS):"
	dns_netns_exec "$VDKIMCTL" verify < "$f" | sed 's/^/   /' || true
	echo "-- dkimpy:"
	dns_netns_exec "$PY" "$PEERS/dkimpy_peer.py" verify "$f" | sed 's/^/   /' || true
	echo "-- Mail::DKIM:"
	dns_netns_exec perl "$PEERS/maildkim_peer.pl" verify "$f" | sed 's/^/   /' || true
	echo "-- libopendkim:"
	dns_netns_exec "$BUILD/peers/opendkim_peer" verify "$f" | sed 's/^/   /' || true
}

say "4. Four independent verifiers check it over DNS"
verify_all "$WORK/signed.eml"

say "5. The same message with one word of the body changed"
sed 's/Three spaces/Four spaces/' "$WORK/signed.eml" > "$WORK/tampered.eml"
verify_all "$WORK/tampered.eml"

say "Done"
echo "Try it yourself: $VDKIMCTL help"
