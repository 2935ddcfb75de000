#!/usr/bin/env bash
# bench/scale_bench.sh BUILD_DIR - an email service provider's config
# (issue 13): BUILD_DIR/scale_bench in a temporary folder.  The sizes come
# from the environment, for quick runs:
#   SCALE_KEYS (100000 domain-keys), SCALE_DISTINCT (1000 distinct keys),
#   SCALE_VMTAS (10000 virtual-mta blocks), SCALE_MESSAGES (2000)
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/scale_bench.sh BUILD_DIR}" && pwd)
for f in "$BUILD/scale_bench" "$BUILD/vdkim.so" "$BUILD/vdkimctl"; do
	[[ -e $f ]] || { echo "scale_bench: $f not built" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-scalebench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$BUILD/scale_bench" --so "$BUILD/vdkim.so" --dir "$WORK" \
    --keys "${SCALE_KEYS:-100000}" --distinct "${SCALE_DISTINCT:-1000}" \
    --vmtas "${SCALE_VMTAS:-10000}" --messages "${SCALE_MESSAGES:-2000}" \
    --ctl "$BUILD/vdkimctl"
