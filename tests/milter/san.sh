#!/usr/bin/env bash
# tests/milter/san.sh BUILD_DIR - vdkim-milter's libmilter callbacks under
# ASan+UBSan (BUILD_DIR is build/san), driven by miltertest
# (tests/milter/callbacks.lua) over a unix: socket with socket-mode:
# signed messages (signature inserted, X-DKIM-Options and X-Virtual-MTA
# removed), dkim-require answered with a reply code, a malformed field
# refused, an aborted message;
# then SIGHUPs, and SIGTERM: exit status 0 and no sanitizer report.
set -uo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"
BUILD=$(cd "${1:-build/san}" && pwd)
VDKIMCTL=${VDKIMCTL:-$BUILD/vdkimctl}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-milter-san.XXXXXX") || exit 1
trap 'kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

"$VDKIMCTL" keygen --selector ex1 --domain sign.example --dir "$WORK" >/dev/null ||
    { bad "vdkimctl keygen"; finish; }
cat >"$WORK/vdkim.conf" <<CONF
domain-key = "ex1,sign.example,$WORK/ex1.private"
domain "*" {
    dkim-sign = yes
}
virtual-mta default {
}
virtual-mta strict {
    domain "*" {
        dkim-sign = yes
        dkim-require = yes
    }
}
milter {
    module = "$BUILD/vdkim.so"
    listen = "unix:$WORK/milter.sock"
    socket-mode = 0660
    log-file = "$WORK/milter.log"
    vmta-map = { "vmta-a=default" }
    x-virtual-mta-sources = { "vmta-b" }
}
CONF
"$BUILD/vdkim-milter" --config "$WORK/vdkim.conf" 2>"$WORK/stderr" &
PID=$!
for _ in $(seq 50); do [[ -S $WORK/milter.sock ]] && break; sleep 0.1; done
if [[ $(stat -c %a "$WORK/milter.sock" 2>/dev/null) == 660 ]]; then
	ok "unix: socket with socket-mode 0660"
else
	bad "unix: socket with socket-mode 0660" "$WORK/stderr" "$WORK/milter.log"
fi
if out=$(SOCK="unix:$WORK/milter.sock" miltertest -s "$ROOT/tests/milter/callbacks.lua" 2>&1); then
	ok "miltertest: the callbacks"
else
	bad "miltertest: the callbacks" "$out" "$WORK/milter.log"
fi
for _ in $(seq 20); do kill -HUP "$PID"; sleep 0.05; done
if kill -0 "$PID" 2>/dev/null; then ok "20 SIGHUPs: still running"; else bad "20 SIGHUPs: still running" "$WORK/stderr"; fi
kill -TERM "$PID"
wait "$PID"
rc=$?
if ((rc == 0)) && ! grep -q "Sanitizer\|runtime error" "$WORK/stderr"; then
	ok "SIGTERM: status 0, no sanitizer report"
else
	bad "SIGTERM: status 0, no sanitizer report (status $rc)" "$WORK/stderr"
fi
finish
