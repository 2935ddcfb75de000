#!/usr/bin/env bash
# scripts/build-deb.sh OUT_DIR - builds the vdkim Debian packages
# (debian/) with dpkg-buildpackage -us -uc -b, out of the tree:
# dpkg-buildpackage writes its results beside the source folder and its
# build into it, so the tracked files are copied (git ls-files, or every
# file outside build/ when this is no git checkout) to a temporary
# folder, built there, and the .deb, .changes and .buildinfo files moved
# to OUT_DIR.  The source tree is left as it was.
set -euo pipefail

OUT=${1:?usage: scripts/build-deb.sh OUT_DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

for tool in dpkg-buildpackage dh fakeroot; do
	command -v "$tool" >/dev/null || {
		echo "build-deb: $tool is missing (make deps installs it)" >&2
		exit 69
	}
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
SRC=$WORK/vdkim
mkdir "$SRC"
# Tracked files plus new ones not ignored: what a commit of this tree has.
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	    while IFS= read -r -d '' f; do
		[[ ! -e $f ]] || printf '%s\0' "$f" # (deleted, not committed)
	    done | tar --null -T - -cf -) | tar -xf - -C "$SRC"
else
	tar -C "$ROOT" --exclude=./build -cf - . | tar -xf - -C "$SRC"
fi

# Two jobs (the build machines are shared), unless the caller says.
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2}
echo "build-deb: building in $SRC" >&2
if ! (cd "$SRC" && nice dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	tail -n 40 "$WORK/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log above)" >&2
	exit 1
fi
cp "$WORK/build.log" "$OUT/build.log"
n=0
for f in "$WORK"/*.deb "$WORK"/*.changes "$WORK"/*.buildinfo; do
	[ -e "$f" ] || continue
	mv -f "$f" "$OUT/"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "build-deb: dpkg-buildpackage made no package" >&2; exit 1; }
ls -1 "$OUT"/*.deb
