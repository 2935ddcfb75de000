#!/bin/sh
# scripts/deps.sh - install every Debian package the build, the tests,
# the demo and the benchmarks need.  Idempotent and silent when all is
# present; runs "apt-get update" first only when something is missing.
set -eu

PACKAGES="
build-essential pkg-config libssl-dev openssl check libsubunit-dev
libconfuse-dev libpsl-dev libidn2-dev publicsuffix
iproute2 dnsmasq-base swaks
python3 python3-dkim python3-dnspython
libmail-dkim-perl libnet-dns-perl
libopendkim-dev opendkim-tools
libmilter-dev miltertest
exim4-daemon-heavy exim4-dev
softhsm2 libengine-pkcs11-openssl opensc
swtpm swtpm-tools tpm2-openssl tpm2-tools
"

# "deps.sh --fuzz" (make fuzz): also clang and libFuzzer, which only the
# fuzzing runs need; make check replays the corpora with gcc.
if [ "${1:-}" = "--fuzz" ]; then
	PACKAGES="$PACKAGES clang libclang-rt-14-dev"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# Never remove or replace what the machine has (Exim and Postfix conflict:
# installing one would silently remove the other): --no-remove makes apt
# refuse instead, and a dry run first names the conflict.
# shellcheck disable=SC2086
if ! plan=$(apt-get install -s --no-install-recommends $missing 2>&1); then
	echo "deps: apt cannot install:$missing" >&2
	echo "$plan" | tail -n 5 >&2
	exit 1
fi
removed=$(echo "$plan" | sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' ')
if [ -n "$removed" ]; then
	echo "deps: installing$missing would remove: $removed" >&2
	echo "deps: not done; install the packages you want by hand, or run the" >&2
	echo "deps: tests on a machine where removing those is fine" >&2
	exit 1
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends --no-remove $missing >/dev/null
