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
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
