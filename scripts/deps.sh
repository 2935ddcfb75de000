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
prometheus
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
# Packages whose maintainer scripts start a service (prometheus): the
# tests run their own private instances, so none may start here.  A
# policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d and
# deb-systemd-invoke from starting anything during this install; the
# machine's own policy-rc.d, if it has one, is put back afterwards.
policy_rc=/usr/sbin/policy-rc.d
saved_rc=""
if [ -e "$policy_rc" ]; then
	saved_rc=$(mktemp)
	cp -p "$policy_rc" "$saved_rc"
fi
restore_policy_rc() {
	if [ -n "$saved_rc" ]; then
		cp -p "$saved_rc" "$policy_rc" && rm -f "$saved_rc"
	else
		rm -f "$policy_rc"
	fi
}
trap restore_policy_rc EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
chmod 0755 "$policy_rc"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends --no-remove $missing >/dev/null
# Never leave Prometheus's own service running (a systemd machine may
# have started it regardless).
if command -v systemctl >/dev/null 2>&1 &&
    systemctl is-active --quiet prometheus 2>/dev/null; then
	systemctl stop prometheus || true
fi
exit 0
