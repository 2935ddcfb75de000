#!/usr/bin/env bash
# tests/package/run.sh BUILD_DIR - the Debian packages, the man pages and
# the systemd units, as an operator gets them.
#
#   1. The man pages (man/) render without a warning (groff -ww, man
#      --warnings), and say everything: each directive the parsers know,
#      each vdkimctl command and option, each entry point of the ABI
#      (tests/package/man.sh).
#   2. "make deb" builds vdkim and vdkim-dev out of the tree (nothing new
#      in the checkout), at the module's version; lintian reports no error
#      (its warnings are listed).
#   3. The packages are installed with dpkg, maintainer scripts and all,
#      into a scratch root: an overlay whose lower layer is this machine's
#      root and whose upper layer is a tmpfs, mounted in a private mount
#      namespace and entered with chroot, so nothing is written to the
#      machine (checked: no vdkim user, package, folder or unit appears).
#      There: the vdkim user and folders of postinst, the conffile, the
#      programs (--version, config-test on the installed example,
#      keygen + sign + verify, the milter opening the installed vdkim.so
#      found through vdkim.pc), the units (systemd-analyze verify, with
#      their man pages), a second install keeping a changed config, and a
#      purge keeping the keys.
# Needs root (mounts); prints one line per failed check (REPORT_VERBOSE=1:
# every check) and "N passed, N failed".
set -u
export LC_ALL=C

BUILD=${1:?usage: tests/package/run.sh BUILD_DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Everything below runs in a mount namespace of its own: the scratch
# root's mounts vanish with it, whatever happens.
if [[ -z ${VDKIM_PACKAGE_NS:-} ]]; then
	if [[ $(id -u) != 0 ]]; then
		echo "tests/package: needs root (mounts a scratch root)" >&2
		exit 1
	fi
	VDKIM_PACKAGE_NS=1 exec unshare --mount --propagation private \
	    bash "$0" "$@"
fi

# shellcheck source=../lib/report.sh
# shellcheck disable=SC1091
source "$ROOT/tests/lib/report.sh"
# shellcheck source=man.sh
# shellcheck disable=SC1091
source "$ROOT/tests/package/man.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-package.XXXXXX")
M=$WORK/ovl/root
cleanup() {
	umount -R "$WORK/ovl" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# ------------------------------------------------------------ man pages
man_render "$ROOT"/man/*.[0-9]
man_render_selftest
man_coverage

# ------------------------------------------------------------- the .deb
version=$(sed -n 's/^#define VDKIM_MODULE_VERSION "\(.*\)"/\1/p' \
    "$ROOT/api/get_api.c")
deb_version=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
if [[ -n $version && $deb_version == "$version" ]]; then
	ok "debian/changelog is at the module's version $version"
else
	bad "debian/changelog says $deb_version, the module $version"
fi

tree_state() { git -C "$ROOT" status --porcelain --untracked-files=all 2>/dev/null; }
before=$(tree_state)
rm -f "$BUILD"/deb/*.deb "$BUILD"/deb/*.changes "$BUILD"/deb/*.buildinfo
start=$SECONDS
if make --no-print-directory -C "$ROOT" deb BUILD="$BUILD" >"$WORK/deb.log" 2>&1; then
	ok "make deb ($((SECONDS - start)) s)"
else
	bad "make deb failed" "$WORK/deb.log"
	finish
fi
DEB=$(ls "$BUILD"/deb/vdkim_"$version"_*.deb 2>/dev/null)
DEV=$(ls "$BUILD"/deb/vdkim-dev_"$version"_all.deb 2>/dev/null)
if [[ -f $DEB && -f $DEV ]]; then
	ok "packages: ${DEB##*/} ${DEV##*/}"
else
	bad "make deb made no vdkim/vdkim-dev $version package" "$(ls "$BUILD/deb")"
	finish
fi
after=$(tree_state)
if [[ $before == "$after" ]]; then
	ok "make deb leaves the source tree as it was"
else
	bad "make deb changed the source tree" "$(diff <(echo "$before") <(echo "$after"))"
fi
# dpkg-buildpackage writes beside the tree: nothing may land there.
stray=$(find "$ROOT/.." -maxdepth 1 -name 'vdkim*' \( -name '*.deb' -o \
    -name '*.changes' -o -name '*.buildinfo' \) 2>/dev/null)
if [[ -z $stray ]]; then
	ok "no package file beside the source tree"
else
	bad "package files beside the source tree" "$stray"
fi

# lintian: errors fail, warnings are listed.
lintian --tag-display-limit 0 "$BUILD"/deb/vdkim_"$version"_*.changes \
    >"$WORK/lintian" 2>&1
errors=$(grep -c '^E:' "$WORK/lintian")
if ((errors == 0)) && ! grep -qi 'lintian: .*error\|^internal error' "$WORK/lintian"; then
	ok "lintian: no error"
else
	bad "lintian: $errors error(s)" "$(grep '^E:' "$WORK/lintian")"
fi
grep '^W:' "$WORK/lintian" | sed 's/^/lintian warning: /'

# ------------------------------------------------ the scratch root
# What an install on this machine would leave (other tests running beside
# this one may change passwd or the dpkg status: only vdkim's traces count).
host_state() {
	getent passwd vdkim
	getent group vdkim
	dpkg-query -W -f='${Package} ${Status}\n' vdkim vdkim-dev 2>/dev/null
	ls -ld /etc/vdkim /etc/vdkim/keys /var/lib/vdkim /usr/lib/vdkim \
	    /usr/bin/vdkimctl /usr/sbin/vdkim-milter \
	    /lib/systemd/system/vdkim-milter.service 2>/dev/null
}
host_before=$(host_state)
mkdir -p "$WORK/ovl"
if ! { mount -t tmpfs -o mode=0755 vdkim-package "$WORK/ovl" &&
    mkdir -p "$WORK/ovl/upper" "$WORK/ovl/work" "$M" &&
    mount -t overlay vdkim-root \
        -o "lowerdir=/,upperdir=$WORK/ovl/upper,workdir=$WORK/ovl/work" "$M" &&
    mount -t proc proc "$M/proc" &&
    mount --rbind /dev "$M/dev" &&
    mount -t tmpfs tmpfs "$M/run" &&
    mount -t tmpfs tmpfs "$M/tmp"; }; then
	bad "the scratch root could not be mounted"
	finish
fi
in_root() { chroot "$M" "$@"; }
mkdir "$M/tmp/debs" && cp "$DEB" "$DEV" "$M/tmp/debs/"

if in_root dpkg -i /tmp/debs/"${DEB##*/}" /tmp/debs/"${DEV##*/}" \
    >"$WORK/dpkg.log" 2>&1; then
	ok "dpkg -i vdkim vdkim-dev in the scratch root"
else
	bad "dpkg -i in the scratch root failed" "$WORK/dpkg.log"
	finish
fi

# postinst: the user, the state folder, the keys folder.
if in_root getent passwd vdkim | grep -q ':/var/lib/vdkim:/usr/sbin/nologin$'; then
	ok "postinst made the system user vdkim (home /var/lib/vdkim, nologin)"
else
	bad "postinst: no vdkim system user" "$(in_root getent passwd vdkim)"
fi
got=$(in_root stat -c '%U:%G %a' /var/lib/vdkim /etc/vdkim/keys 2>&1 | tr '\n' ' ')
if [[ $got == "vdkim:vdkim 755 root:vdkim 750 " ]]; then
	ok "postinst: /var/lib/vdkim vdkim:vdkim 755, /etc/vdkim/keys root:vdkim 750"
else
	bad "postinst: folders are $got"
fi
# shellcheck disable=SC2016 # dpkg-query's ${Conffiles}
if in_root dpkg-query -W -f='${Conffiles}\n' vdkim | grep -q '^ /etc/vdkim/vdkim.conf '; then
	ok "/etc/vdkim/vdkim.conf is a conffile"
else
	bad "/etc/vdkim/vdkim.conf is not a conffile" "$WORK/dpkg.log"
fi
enabled=$(find "$M/etc/systemd/system" -name 'vdkim*' 2>/dev/null)
if [[ -z $enabled ]]; then
	ok "no unit is enabled on install"
else
	bad "units enabled on install" "$enabled"
fi

# The programs, from their installed paths.
for p in /usr/bin/vdkimctl /usr/sbin/vdkim-harness /usr/sbin/vdkim-milter; do
	out=$(in_root "$p" --version 2>&1)
	if [[ $out == *" $version" ]]; then
		ok "${p##*/} --version: $out"
	else
		bad "$p --version" "$out"
	fi
done
if in_root vdkimctl config-test --config /etc/vdkim/vdkim.conf >"$WORK/ct" 2>&1 &&
    grep -q '^config OK' "$WORK/ct"; then
	ok "vdkimctl config-test passes on the installed example config"
else
	bad "config-test on the installed example config" "$WORK/ct"
fi
module=$(in_root pkg-config --variable=module vdkim)
cflags=$(in_root pkg-config --cflags vdkim)
# (-I/usr/include is the compiler's own: pkg-config leaves it out.)
if [[ $module == /usr/lib/vdkim/vdkim.so && -f $M$module &&
    -f $M/usr/include/vdkim/vdkim.h && ( -z $cflags || $cflags == "-I/usr/include"* ) ]]; then
	ok "vdkim.pc (from vdkim-dev): module=$module"
else
	bad "vdkim.pc: module '$module', cflags '$cflags'"
fi
# The milter dlopens the module named by the example config (the
# installed path) and opens it on the file.
if in_root vdkim-milter --config /etc/vdkim/vdkim.conf --check >"$WORK/mc" 2>&1; then
	ok "vdkim-milter --check loads $module: $(cat "$WORK/mc")"
else
	bad "vdkim-milter --check on the installed config" "$WORK/mc"
fi

# The key check the timer starts, as its unit runs it (as vdkim), on the
# example config: no key yet and no dkim-rotation block, so check-dns
# alone, with nothing to look up (no DNS is asked): exit 0, the state
# file written by vdkim.
in_root runuser -u vdkim -- /usr/lib/vdkim/vdkim-keycheck /usr/bin/vdkimctl \
    /etc/vdkim/vdkim.conf >"$WORK/kc" 2>&1
rc=$?
if ((rc == 0)) && [[ $(in_root stat -c %U /var/lib/vdkim/dns-check.state 2>&1) == vdkim ]]; then
	ok "vdkim-keycheck runs check-dns as vdkim, records in /var/lib/vdkim"
else
	bad "vdkim-keycheck (exit $rc)" "$WORK/kc"
fi

# A key for the vdkim group, a signature, its verification, the policy
# signing with it as the vdkim user would read it.
if in_root vdkimctl keygen --selector s1 --domain example.com \
    --dir /etc/vdkim/keys --group vdkim >"$WORK/kg" 2>&1 &&
    [[ $(in_root stat -c '%G %a' /etc/vdkim/keys/s1.private) == "vdkim 640" ]]; then
	ok "vdkimctl keygen --group vdkim into /etc/vdkim/keys"
else
	bad "vdkimctl keygen" "$WORK/kg"
fi
printf 'From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n' \
    >"$M/tmp/msg"
if in_root sh -c 'vdkimctl sign --domain example.com --selector s1 \
    --key /etc/vdkim/keys/s1.private </tmp/msg >/tmp/signed' 2>"$WORK/sg" &&
    in_root vdkimctl verify --key s1._domainkey.example.com=/etc/vdkim/keys/s1.txt \
    <"$M/tmp/signed" >"$WORK/vf" 2>&1 && grep -q '^dkim=pass' "$WORK/vf"; then
	ok "vdkimctl sign + verify: $(head -n 1 "$WORK/vf" | cut -c1-60)"
else
	bad "vdkimctl sign + verify" "$WORK/sg" "$WORK/vf"
fi
echo 'domain-key = "s1,example.com,/etc/vdkim/keys/s1.private"' \
    >>"$M/etc/vdkim/vdkim.conf"
if in_root vdkimctl config-test --config /etc/vdkim/vdkim.conf --user vdkim \
    >"$WORK/ct2" 2>&1 && in_root sh -c 'vdkimctl sign --config /etc/vdkim/vdkim.conf \
    --vmta default --rcpt-domain example.net </tmp/msg 2>/dev/null' | grep -q '^DKIM-Signature:.*d=example.com'; then
	ok "the installed policy signs with the new key, readable by the vdkim user"
else
	bad "config-test --user vdkim / sign --config with the new key" "$WORK/ct2"
fi

# The units as installed, with their Documentation= pages.
for u in vdkim-milter.service vdkim-harness.service vdkim-keycheck.service \
    vdkim-keycheck.timer; do
	if [[ ! -f $M/lib/systemd/system/$u ]]; then
		bad "$u is not installed"
		continue
	fi
	in_root systemd-analyze verify "/lib/systemd/system/$u" >"$WORK/sa" 2>&1
	rc=$?
	if ((rc == 0)) && [[ ! -s $WORK/sa ]]; then
		ok "systemd-analyze verify $u"
	else
		bad "systemd-analyze verify $u (exit $rc)" "$WORK/sa"
	fi
done
# ... and a verify that fails on an unknown key, so the check can fail.
sed 's/^NoNewPrivileges=/NoNewPrivilegez=/' "$M/lib/systemd/system/vdkim-milter.service" \
    >"$M/lib/systemd/system/vdkim-broken.service"
in_root systemd-analyze verify /lib/systemd/system/vdkim-broken.service >"$WORK/sa" 2>&1
if grep -q NoNewPrivilegez "$WORK/sa"; then
	ok "systemd-analyze verify reports a broken unit"
else
	bad "systemd-analyze verify said nothing of a broken unit" "$WORK/sa"
fi
rm -f "$M/lib/systemd/system/vdkim-broken.service"
# Installed man pages, found and rendered by man.
for p in vdkimctl vdkim.conf vdkim-milter vdkim-harness vdkim; do
	if in_root man -w "$p" >/dev/null 2>&1 &&
	    [[ -z $(in_root sh -c "MANWIDTH=80 man --warnings $p 2>&1 >/dev/null") ]]; then
		ok "man $p: installed, no warnings"
	else
		bad "man $p: not installed or warnings"
	fi
done

# Installing again keeps a changed config; a purge keeps the keys.
if in_root dpkg -i /tmp/debs/"${DEB##*/}" >"$WORK/dpkg2.log" 2>&1 &&
    grep -q '^domain-key = "s1,example.com' "$M/etc/vdkim/vdkim.conf"; then
	ok "dpkg -i again keeps the changed /etc/vdkim/vdkim.conf"
else
	bad "a second dpkg -i" "$WORK/dpkg2.log"
fi
if in_root dpkg --purge vdkim-dev vdkim >"$WORK/purge.log" 2>&1 &&
    [[ ! -e $M/var/lib/vdkim && -f $M/etc/vdkim/keys/s1.private &&
    ! -e $M/usr/lib/vdkim/vdkim.so ]]; then
	ok "dpkg --purge removes the state, keeps the keys"
else
	bad "dpkg --purge" "$WORK/purge.log"
fi

umount -R "$M" 2>/dev/null
host_after=$(host_state)
if [[ $host_after == "$host_before" ]] &&
    ! dpkg-query -W -f='${Status}' vdkim 2>/dev/null | grep -q installed; then
	ok "this machine is untouched (no vdkim user, package, folder or unit added)"
else
	bad "the install reached this machine" "$(diff <(echo "$host_before") <(echo "$host_after"))"
fi

finish
