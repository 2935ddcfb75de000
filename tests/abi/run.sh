#!/usr/bin/env bash
# tests/abi/run.sh BUILD_DIR - the ABI test of BUILD_DIR/vdkim.so.
#
# Makes a temporary work folder with keys for example.com (RSA and Ed25519,
# two selectors each) from "vdkimctl keygen", then runs
#   BUILD_DIR/abi_test BUILD_DIR/vdkim.so WORKDIR
# which writes its configs there.  The folder is removed on exit; the exit
# status is the test's.
#
# VDKIMCTL overrides the key generator (default BUILD_DIR/vdkimctl, else
# build/vdkimctl, e.g. for BUILD_DIR=build/san when only the module and
# the test were built there).
set -euo pipefail

BUILD=${1:?usage: tests/abi/run.sh BUILD_DIR}
BUILD=${BUILD%/}
case $BUILD in /*|./*|../*) ;; *) BUILD=./$BUILD ;; esac

if [ -z "${VDKIMCTL:-}" ]; then
	VDKIMCTL=$BUILD/vdkimctl
	[ -x "$VDKIMCTL" ] || VDKIMCTL=build/vdkimctl
fi
for f in "$BUILD/abi_test" "$BUILD/vdkim.so" "$VDKIMCTL"; do
	if [ ! -e "$f" ]; then
		echo "tests/abi/run.sh: $f is missing (make $f)" >&2
		exit 2
	fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-abi.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
WORK=$(cd "$WORK" && pwd -P)

for key in rsa:rsa1 ed25519:ed1 rsa:rsa2 ed25519:ed2; do
	"$VDKIMCTL" keygen --type "${key%%:*}" --selector "${key#*:}" \
	    --domain example.com --dir "$WORK" >/dev/null
done

rc=0
# Only the ABI is exported: the dynamic symbol table defines vdkim_get_api
# and the Exim dlfunc functions, nothing else (the version node aside),
# and the module needs no symbol of its host's at load time (the Exim
# shim looks Exim's up at run time).
exported=$(nm -D --defined-only "$BUILD/vdkim.so" | awk '$2 != "A" {print $3}' |
    sed 's/@.*//' | sort | tr '\n' ' ')
want="vdkim_exim_load vdkim_exim_predelivery vdkim_exim_prequeue vdkim_get_api "
if [ "$exported" = "$want" ]; then
	echo "abi: vdkim.so exports only: $want"
else
	echo "FAIL abi: vdkim.so exports: $exported" >&2
	rc=1
fi
"$BUILD/abi_test" "$BUILD/vdkim.so" "$WORK" || rc=$?
# The Exim shim, driven by a stand-in for Exim (tests/exim/run.sh runs
# the real one).
"$BUILD/exim_shim_test" "$BUILD/vdkim.so" "$WORK" || rc=$?
exit $rc
