#!/usr/bin/env bash
# tests/install/run.sh BUILD_DIR - what "make install" gives a host.
#
# Runs "make install DESTDIR=TMP BUILD=BUILD_DIR" into a temporary folder,
# then checks:
#   - every function declared in an installed header is exported by the
#     installed vdkim.so (or is defined in the header: inline); macros and
#     types need nothing.  The declarations are listed by the compiler
#     itself (gcc -aux-info), not by pattern matching;
#   - a host program compiles against the installed header alone (the
#     -I from the installed vdkim.pc, not the source tree), finds the
#     module through vdkim.pc's "module" variable, dlopens the installed
#     vdkim.so and gets its API table;
#   - the operator's files: vdkimctl in bin, the daemons in sbin, the man
#     pages, the systemd units naming the installed paths, the example
#     config (never replacing an existing one: a second install keeps it),
#     the state folder; "make uninstall" removes the programs and keeps
#     the config.
# Prints one line per check and "N passed, N failed"; exits 1 when
# anything failed.
set -u
export LC_ALL=C

BUILD=${1:?usage: tests/install/run.sh BUILD_DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=${CC:-cc}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
DEST=$WORK/dest
PREFIX=/usr/local

passed=0
failed=0
pass() { echo "install: ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL install: $*" >&2; failed=$((failed + 1)); }

if ! make --no-print-directory -C "$ROOT" install BUILD="$BUILD" \
    PREFIX="$PREFIX" DESTDIR="$DEST" >"$WORK/install.log" 2>&1; then
	cat "$WORK/install.log" >&2
	fail "make install DESTDIR=$DEST failed"
	echo "$passed passed, $failed failed"
	exit 1
fi

SO=$DEST$PREFIX/lib/vdkim/vdkim.so
INC=$DEST$PREFIX/include
PC=$DEST$PREFIX/lib/pkgconfig/vdkim.pc
for f in "$SO" "$PC"; do
	if [ -f "$f" ]; then pass "installed ${f#"$DEST"}"; else fail "${f#"$DEST"} is not installed"; fi
done

nm -D --defined-only "$SO" | awk '$2 == "T" || $2 == "W" {print $3}' |
    sed 's/@.*//' | sort -u >"$WORK/exported"

# Each installed header, compiled on its own; -aux-info writes a line per
# function declared, "/* FILE:LINE:NC */ extern int name (args);" (the
# "static" and "inline" of functions defined in the header show too).
headers=$(cd "$INC" && find . -name '*.h' | sed 's|^\./||' | sort)
[ -n "$headers" ] || fail "no header is installed"
for h in $headers; do
	printf '#include <%s>\n' "$h" >"$WORK/one.c"
	if ! "$CC" -std=c11 -Wall -Wextra -Werror -I"$INC" \
	    -aux-info "$WORK/aux" -c -o "$WORK/one.o" "$WORK/one.c"; then
		fail "$h does not compile on its own"
		continue
	fi
	grep -F "/* $INC/$h:" "$WORK/aux" | grep -v '\binline\b' |
	    sed -n 's/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\) *(.*/\1/p' |
	    sort -u >"$WORK/declared"
	n=$(wc -l <"$WORK/declared")
	missing=$(comm -23 "$WORK/declared" "$WORK/exported" | tr '\n' ' ')
	if [ "$n" -eq 0 ]; then
		fail "$h: no function declaration found (the check saw nothing)"
	elif [ -n "$missing" ]; then
		fail "$h declares functions vdkim.so does not export: $missing"
	else
		pass "$h: its $n function(s) are exported by vdkim.so"
	fi
done

# A host, built against the installed files only.
cat >"$WORK/host.c" <<'HOST'
#include <dlfcn.h>
#include <stdio.h>
#include <vdkim/vdkim.h>

int
main(int argc, char **argv)
{
	const vdkim_api *api;
	vdkim_get_api_fn get;
	char err[256];
	void *h;

	if (argc != 2 || (h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "host: cannot load the module: %s\n", dlerror());
		return 1;
	}
	*(void **)&get = dlsym(h, "vdkim_get_api");
	if (get == NULL || get(VDKIM_ABI_VERSION, &api, err, sizeof(err)) != 0) {
		fprintf(stderr, "host: vdkim_get_api: %s\n",
		    get == NULL ? "not found" : err);
		return 1;
	}
	printf("%s %u %d\n", api->module_version, api->abi_version,
	    VDKIM_API_HAS(api, batch_free));
	dlclose(h);
	return 0;
}
HOST
export PKG_CONFIG_PATH=$DEST$PREFIX/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$DEST
# (pkg-config ends its answers with a blank; the sysroot is only for -I:
# the module variable is the path a host will use once installed.)
cflags=$(pkg-config --cflags vdkim) || fail "pkg-config --cflags vdkim failed"
cflags=${cflags% }
libs=$(pkg-config --libs vdkim)
libs=${libs% }
module=$(PKG_CONFIG_SYSROOT_DIR='' pkg-config --variable=module vdkim)
if [ "$cflags" = "-I$INC" ] && [ -z "$libs" ]; then
	pass "vdkim.pc: Cflags $cflags, no Libs"
else
	fail "vdkim.pc: Cflags '$cflags' (want -I$INC), Libs '$libs' (want none)"
fi
if [ "$module" = "$PREFIX/lib/vdkim/vdkim.so" ]; then
	pass "vdkim.pc: module=$module"
else
	fail "vdkim.pc: module='$module' (want $PREFIX/lib/vdkim/vdkim.so)"
fi
# shellcheck disable=SC2086 # cflags is a list of options
if "$CC" -std=c11 -Wall -Wextra -Werror -pedantic $cflags -o "$WORK/host" \
    "$WORK/host.c" -ldl; then
	pass "a host compiles against the installed vdkim.h alone"
	out=$("$WORK/host" "$DEST$module" 2>&1)
	if [ "$out" = "$(pkg-config --modversion vdkim) 1 1" ]; then
		pass "the host loads the installed vdkim.so: $out"
	else
		fail "the host with the installed vdkim.so: $out"
	fi
else
	fail "a host does not compile against the installed vdkim.h"
fi


# The operator's files.
for f in bin/vdkimctl sbin/vdkim-harness sbin/vdkim-milter lib/vdkim/vdkim-keycheck; do
	if [ -x "$DEST$PREFIX/$f" ]; then pass "installed $PREFIX/$f"; else fail "$PREFIX/$f is not installed"; fi
done
n=0
pages=0
for m in "$ROOT"/man/*.[0-9]; do
	b=${m##*/}
	pages=$((pages + 1))
	[ -f "$DEST$PREFIX/share/man/man${b##*.}/$b" ] && n=$((n + 1))
done
if [ "$n" -ge 5 ] && [ "$n" -eq "$pages" ]; then
	pass "the $n man pages are installed"
else
	fail "$n man pages installed"
fi
UNITS=$DEST$PREFIX/lib/systemd/system
for u in vdkim-milter.service vdkim-harness.service vdkim-keycheck.service \
    vdkim-keycheck.timer; do
	if [ ! -f "$UNITS/$u" ]; then
		fail "$u is not installed"
	elif grep -q '@[A-Z]*@' "$UNITS/$u"; then
		fail "$u has unsubstituted paths: $(grep '@[A-Z]*@' "$UNITS/$u")"
	else
		pass "$u installed"
	fi
done
if grep -qx "ExecStart=$PREFIX/sbin/vdkim-milter --config /etc/vdkim/vdkim.conf" \
    "$UNITS/vdkim-milter.service"; then
	pass "vdkim-milter.service starts $PREFIX/sbin/vdkim-milter"
else
	fail "vdkim-milter.service: $(grep '^ExecStart=' "$UNITS/vdkim-milter.service")"
fi
CONF=$DEST/etc/vdkim/vdkim.conf
if [ -f "$CONF" ] && grep -q "module = \"$PREFIX/lib/vdkim/vdkim.so\"" "$CONF" &&
    "$ROOT/$BUILD/vdkimctl" config-test --config "$CONF" >"$WORK/ct" 2>&1; then
	pass "the example /etc/vdkim/vdkim.conf names $PREFIX/lib/vdkim/vdkim.so and passes config-test"
else
	fail "the example config: $(cat "$WORK/ct" 2>/dev/null)"
fi
if [ -d "$DEST/var/lib/vdkim" ]; then pass "/var/lib/vdkim made"; else fail "no /var/lib/vdkim"; fi
echo "# the operator's line" >>"$CONF"
if make --no-print-directory -C "$ROOT" install BUILD="$BUILD" PREFIX="$PREFIX" \
    DESTDIR="$DEST" >"$WORK/install2.log" 2>&1 &&
    tail -n 1 "$CONF" | grep -qx "# the operator's line" &&
    grep -q 'exists: kept' "$WORK/install2.log"; then
	pass "a second make install keeps the existing vdkim.conf (and says so)"
else
	fail "a second make install replaced vdkim.conf or failed: $(tail -n 3 "$WORK/install2.log")"
fi
if make --no-print-directory -C "$ROOT" uninstall BUILD="$BUILD" PREFIX="$PREFIX" \
    DESTDIR="$DEST" >"$WORK/uninstall.log" 2>&1 &&
    [ ! -e "$DEST$PREFIX/bin/vdkimctl" ] && [ ! -e "$SO" ] &&
    [ ! -e "$UNITS/vdkim-milter.service" ] && [ -f "$CONF" ] &&
    [ -z "$(find "$DEST$PREFIX" -type f)" ]; then
	pass "make uninstall removes every installed file but the config"
else
	fail "make uninstall: left $(find "$DEST$PREFIX" -type f | tr '\n' ' ')"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
