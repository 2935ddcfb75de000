#!/usr/bin/env bash
# tests/fuzz/coverage.sh BUILD NAME... - replays every harness's corpus
# and regressions with the gcov build (make fuzz-coverage), then prints
# the line coverage of the engine's parsers (goal: 85 % each) and, for
# information, of the other files the harnesses reach.
set -u
cd "$(dirname "$0")/../.."
BUILD=$1; shift
GOAL=85

# Counts from this run only.
find "$BUILD/obj" -name '*.gcda' -delete
for name in "$@"; do
	args=(tests/fuzz/"$name"/corpus)
	[[ -d tests/fuzz/$name/regressions ]] && args+=(tests/fuzz/"$name"/regressions)
	"$BUILD/fuzz/fuzz_$name" "${args[@]}" >/dev/null 2>&1 ||
	    echo "fuzz-coverage: fuzz_$name failed on its corpus (make fuzz-replay)" >&2
done

# FILE -> "PERCENT LINES" from gcov (no .gcov files written).
cover() {
	gcov -n -o "$BUILD/obj/$(dirname "$1")" "$1" 2>/dev/null |
	    awk -v f="$1" '$0 == "File '\''" f "'\''" { want = 1; next }
	        want && /^Lines executed:/ { sub(/^Lines executed:/, "");
	        sub(/%/, ""); print $1, $3; exit }'
}

below=0
printf '%-36s %8s %7s  %s\n' "file" "lines" "covered" "(goal ${GOAL} %)"
for f in module/engine/verifier.c module/engine/signer.c \
    module/engine/msg_split.c module/engine/body_canon.c \
    module/engine/header_canon.c module/engine/tag_list.c \
    module/engine/key_record.c; do
	read -r pct n <<<"$(cover "$f")"
	mark=ok
	if [[ -z ${pct:-} ]]; then
		pct=0 n=?; mark="NOT REACHED"; below=$((below + 1))
	elif awk -v p="$pct" -v g="$GOAL" 'BEGIN { exit !(p < g) }'; then
		mark="below goal"; below=$((below + 1))
	fi
	printf '%-36s %8s %6s%%  %s\n' "$f" "$n" "$pct" "$mark"
done
echo "-- also reached (for information):"
for f in module/engine/header_fields.c module/engine/sig_fold.c \
    module/engine/body_set.c module/engine/identity.c \
    module/policy/conf_parse.c module/policy/conf_value.c \
    module/policy/policy_decide.c module/policy/rotation_state.c \
    module/util/conf_text.c harness/smtp_session.c harness/dot_codec.c \
    api/exim/exim_spool.c milter/session.c; do
	read -r pct n <<<"$(cover "$f")"
	printf '%-36s %8s %6s%%\n' "$f" "${n:-?}" "${pct:-0}"
done
echo "fuzz-coverage: $below of 7 engine files below ${GOAL} %"
