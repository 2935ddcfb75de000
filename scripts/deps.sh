#!/bin/sh
# scripts/deps.sh [demo|check] - install the Debian packages vdkim needs:
#   demo   what "make demo" uses: the build of vdkim.so, vdkimctl and the
#          harness, DNS in a network namespace, swaks, the verifiers it
#          checks the mail with (no Exim: the demo's MTAs are harnesses)
#   check  (the default) everything "make check" and the benchmarks use:
#          the demo's packages and the tests' (Check, Exim, Postfix's
#          libmilter, devices)
# Idempotent and silent when all is present; runs "apt-get update" first
# only when something is missing.  Never removes or replaces an installed
# package: when installing would (Exim and Postfix conflict), it names the
# package and what it would remove, and installs nothing.
#
# Environment (for tests/deps/run.sh): DEPS_APT_GET and DEPS_DPKG_QUERY
# name the apt-get and dpkg-query to run.
set -eu

APT_GET=${DEPS_APT_GET:-apt-get}
DPKG_QUERY=${DEPS_DPKG_QUERY:-dpkg-query}

DEMO_PACKAGES="
build-essential pkg-config libssl-dev openssl
libconfuse-dev libpsl-dev libidn2-dev publicsuffix
iproute2 dnsmasq-base swaks
python3 python3-dkim python3-dnspython
libmail-dkim-perl libnet-dns-perl
libopendkim-dev
"
CHECK_PACKAGES="
check libsubunit-dev
opendkim-tools
libmilter-dev miltertest m4
exim4-daemon-heavy exim4-dev
softhsm2 libengine-pkcs11-openssl opensc
swtpm swtpm-tools tpm2-openssl tpm2-tools
debhelper dpkg-dev fakeroot lintian groff-base man-db systemd
opendkim
prometheus
"

case "${1:-check}" in
demo) PACKAGES=$DEMO_PACKAGES ;;
check) PACKAGES="$DEMO_PACKAGES $CHECK_PACKAGES" ;;
# make fuzz: also clang and libFuzzer, which only the fuzzing runs need
# (make check replays the corpora with gcc).
fuzz) PACKAGES="$DEMO_PACKAGES $CHECK_PACKAGES clang libclang-rt-14-dev" ;;
*)
	echo "usage: sh scripts/deps.sh [demo|check|fuzz]" >&2
	exit 64
	;;
esac

missing=""
for p in $PACKAGES; do
	if ! "$DPKG_QUERY" -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
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
"$APT_GET" update -qq >/dev/null

# removals PACKAGES...: what installing them would remove ("Remv" lines of
# a dry run), one line; fails when apt cannot install them at all.
removals() {
	# shellcheck disable=SC2086
	plan=$("$APT_GET" install -s --no-install-recommends "$@" 2>&1) || {
		echo "deps: apt cannot install:$*" >&2
		echo "$plan" | tail -n 5 >&2
		return 1
	}
	echo "$plan" | sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' '
}

# Never remove or replace what the machine has: a dry run first, and
# --no-remove on the real run.
# shellcheck disable=SC2086
removed=$(removals $missing) || exit 1
if [ -n "$removed" ]; then
	# Which of the packages wants which removal: one dry run each.
	for p in $missing; do
		r=$(removals "$p") || continue
		[ -n "$r" ] && echo "deps: $p conflicts with what is installed: installing it would remove ${r% }" >&2
	done
	echo "deps: nothing was installed.  Install the packages you want by" >&2
	echo "deps: hand, or run the tests on a machine where removing those is" >&2
	echo "deps: fine (make demo needs none of the tests' packages)." >&2
	exit 1
fi
# Packages whose maintainer scripts start a service (prometheus, opendkim,
# exim4): the
# tests run their own private instances, so none may start here.  A
# policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d and
# deb-systemd-invoke from starting anything during this install; the
# machine's own policy-rc.d, if it has one, is put back afterwards.
policy_rc=${DEPS_POLICY_RC:-/usr/sbin/policy-rc.d}
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
"$APT_GET" install -y -qq --no-install-recommends --no-remove $missing >/dev/null
# Never leave Prometheus's own service running (a systemd machine may
# have started it regardless).
if command -v systemctl >/dev/null 2>&1 &&
    systemctl is-active --quiet prometheus 2>/dev/null; then
	systemctl stop prometheus || true
fi
exit 0
