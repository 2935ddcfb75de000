#!/usr/bin/env bash
# tests/milter/san.sh BUILD_DIR - vdkim-milter's libmilter callbacks under
# ASan+UBSan (BUILD_DIR is build/san), driven by miltertest
# (tests/milter/callbacks.lua) over a unix: socket with socket-mode:
# signed messages (signature inserted, X-DKIM-Options and X-Virtual-MTA
# removed), dkim-require answered with a reply code, a malformed field
# refused, a header over
# max-header-size (552 5.3.4), an aborted message; then SIGHUPs, SIGUSR1
# and SIGHUP sent back to back (the milter never stops on them), the
# milter { } block reloaded (a changed setting in force for the next
# message, a broken block refused with its line, connections across the
# swap), and SIGTERM: exit status 0 and no sanitizer report.  Then the
# module-error path: a module whose messages all fail
# (tests/milter/failing_module.c), each failure answered 451 4.3.0.
set -uo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"
BUILD=$(cd "${1:-build/san}" && pwd)
VDKIMCTL=${VDKIMCTL:-$BUILD/vdkimctl}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-milter-san.XXXXXX") || exit 1
PID=""
FPID=""
trap 'kill $PID $FPID 2>/dev/null; rm -rf "$WORK"' EXIT

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
    max-header-size = 4096
}
CONF
cp "$WORK/vdkim.conf" "$WORK/vdkim.conf.orig"

# callbacks WHAT: the miltertest script passes.
callbacks() {
	local out
	if out=$(SOCK="unix:$WORK/milter.sock" miltertest -s "$ROOT/tests/milter/callbacks.lua" 2>&1); then
		ok "miltertest: the callbacks$1"
	else
		bad "miltertest: the callbacks$1" "$out" "$WORK/milter.log"
	fi
}

# big_header refused|signed WHAT: tests/milter/big_header.lua.
big_header() {
	local out
	if out=$(SOCK="unix:$WORK/milter.sock" EXPECT=$1 miltertest -s "$ROOT/tests/milter/big_header.lua" 2>&1); then
		ok "a 5.4 KB header $2: $1"
	else
		bad "a 5.4 KB header $2: $1" "$out" "$WORK/milter.log"
	fi
}

# hup_until PATTERN: SIGHUP, then until one more log line has PATTERN (10 s).
hup_until() {
	local n i
	n=$(grep -c -- "$1" "$WORK/milter.log")
	kill -HUP "$PID"
	for ((i = 0; i < 100; i++)); do
		(($(grep -c -- "$1" "$WORK/milter.log") > n)) && return 0
		sleep 0.1
	done
	return 1
}
"$BUILD/vdkim-milter" --config "$WORK/vdkim.conf" 2>"$WORK/stderr" &
PID=$!
for _ in $(seq 50); do [[ -S $WORK/milter.sock ]] && break; sleep 0.1; done
if [[ $(stat -c %a "$WORK/milter.sock" 2>/dev/null) == 660 ]]; then
	ok "unix: socket with socket-mode 0660"
else
	bad "unix: socket with socket-mode 0660" "$WORK/stderr" "$WORK/milter.log"
fi
callbacks ""
for _ in $(seq 20); do kill -HUP "$PID"; sleep 0.05; done
if kill -0 "$PID" 2>/dev/null; then ok "20 SIGHUPs: still running"; else bad "20 SIGHUPs: still running" "$WORK/stderr"; fi
# A SIGHUP while another signal is pending must still be a reload (the
# race of a SIGHUP reaching libmilter's own signal thread, which stops).
python3 -c '
import os, signal, sys
pid = int(sys.argv[1])
for _ in range(2000):
    os.kill(pid, signal.SIGUSR1)
    os.kill(pid, signal.SIGHUP)
' "$PID"
sleep 1
if kill -0 "$PID" 2>/dev/null && ! grep -q "stopping\|stopped" "$WORK/milter.log"; then
	ok "2000 SIGUSR1+SIGHUP pairs: still running, never stopping"
else
	bad "2000 SIGUSR1+SIGHUP pairs: still running, never stopping" "$WORK/milter.log" "$WORK/stderr"
fi

# The milter { } block on SIGHUP: max-header-size raised, in force for
# the next message (the 5.4 KB header refused at 4096 is signed at 65536).
big_header refused "at max-header-size 4096"
sed -i 's/max-header-size = 4096/max-header-size = 65536/' "$WORK/vdkim.conf"
if hup_until "milter { } reloaded .*max-header-size 65536"; then
	ok "SIGHUP: milter { } reloaded (max-header-size 65536)"
else
	bad "SIGHUP: milter { } reloaded" "$WORK/milter.log"
fi
big_header signed "after the reload to 65536"
# listen changed: kept until a restart, said so; a broken block: refused
# with its line, the running settings stay.
sed -e "s|unix:$WORK/milter.sock|unix:$WORK/other.sock|" -e 's/max-header-size = 65536/max-header-size = 4096/' \
    "$WORK/vdkim.conf.orig" >"$WORK/vdkim.conf"
if hup_until "listen changed from .*takes effect at the next start" &&
    [[ -S $WORK/milter.sock && ! -e $WORK/other.sock ]]; then
	ok "SIGHUP: a new listen is logged as waiting for a restart, the socket stays"
else
	bad "SIGHUP: a new listen is logged as waiting for a restart" "$WORK/milter.log"
fi
callbacks " (after the reload back to 4096)"
big_header refused "after the reload back to 4096"
cp "$WORK/vdkim.conf.orig" "$WORK/vdkim.conf"
sed -i 's/max-header-size = 4096/max-header-size = 1/' "$WORK/vdkim.conf"
line=$(grep -n "max-header-size = 1$" "$WORK/vdkim.conf" | cut -d: -f1)
if hup_until "milter { } not reloaded, the running settings stay: $WORK/vdkim.conf:$line: max-header-size = 1: out of range"; then
	ok "SIGHUP: a broken milter { } block refused with FILE:LINE"
else
	bad "SIGHUP: a broken milter { } block refused with FILE:LINE" "$WORK/milter.log"
fi
callbacks " (after the refused reload)"
cp "$WORK/vdkim.conf.orig" "$WORK/vdkim.conf"
kill -TERM "$PID"
wait "$PID"
rc=$?
if ((rc == 0)) && ! grep -q "Sanitizer\|runtime error" "$WORK/stderr"; then
	ok "SIGTERM: status 0, no sanitizer report"
else
	bad "SIGTERM: status 0, no sanitizer report (status $rc)" "$WORK/stderr"
fi
PID=""

# The module-error path: every way failing_module.so fails is 451 4.3.0.
cat >"$WORK/failing.conf" <<CONF
milter {
    module = "$BUILD/failing_module.so"
    listen = "unix:$WORK/failing.sock"
    log-file = "$WORK/failing.log"
    vmta-map = { "fail-begin=fail-begin", "fail-end=fail-end", "bad-action=bad-action" }
}
CONF
"$BUILD/vdkim-milter" --config "$WORK/failing.conf" 2>"$WORK/failing.err" &
FPID=$!
for _ in $(seq 50); do [[ -S $WORK/failing.sock ]] && break; sleep 0.1; done
if out=$(SOCK="unix:$WORK/failing.sock" miltertest -s "$ROOT/tests/milter/module_error.lua" 2>&1); then
	ok "a failing module: 451 4.3.0 for each of its failures, nothing signed"
else
	bad "a failing module: 451 4.3.0 for each failure" "$out" "$WORK/failing.log" "$WORK/failing.err"
fi
if [[ $(grep -c "deferred (module-error)" "$WORK/failing.log") == 3 ]] &&
    grep -q "the module cannot take the message: test module: msg_begin fails" "$WORK/failing.log"; then
	ok "a failing module: each failure logged with its reason"
else
	bad "a failing module: each failure logged with its reason" "$WORK/failing.log"
fi
kill -TERM "$FPID"
wait "$FPID"
rc=$?
FPID=""
if ((rc == 0)) && ! grep -q "Sanitizer\|runtime error" "$WORK/failing.err"; then
	ok "the failing module's milter: SIGTERM, status 0, no sanitizer report"
else
	bad "the failing module's milter: status 0, no sanitizer report (status $rc)" "$WORK/failing.err"
fi
finish
