#!/usr/bin/env bash
# tests/milter/run.sh BUILD_DIR - vdkim-milter behind the real Postfix 3.7.
#
# Postfix comes from Debian's package, downloaded once (apt-get download,
# cached in BUILD/cache) and unpacked into a work folder of its own, never
# installed (it would conflict with the Exim the other tests install); it
# runs from there with its own config folder (postfix -c DIR), every
# service unchrooted (tests/lib/postfix.sh, shared with tests/import).
# In a private network namespace with its own dnsmasq
# (tests/lib/dns_netns.sh) holding the test keys' TXT records:
#
#   the signing Postfix: smtpd on four ports, told apart by
#       -o milter_macro_daemon_name= (vmta-a, vmta-b, none = $myhostname,
#       which the milter maps to its default-vmta), smtpd_milters and
#       non_smtpd_milters on vdkim-milter, relaying to
#   the sink (tests/milter/sink.py), which keeps each message as received.
#
# Every copy the sink got is verified by dkimpy, Mail::DKIM and libopendkim
# with the keys over DNS, and the selector tells which VMTA signed it:
# one message; three in one session; 8-bit; over 10 MB; the VMTA from the
# macro (two smtpd instances, two VMTAs); an unmapped macro value (the
# default VMTA); mail from the sendmail command (non_smtpd_milters);
# X-DKIM-Options and X-Virtual-MTA removed; X-Virtual-MTA honoured only
# from an allowed source; dkim-require without a key: the client sees
# 451 4.7.5 and nothing is relayed; the milter killed mid-session: Postfix
# answers 4xx (milter_default_action = tempfail), nothing accepted is
# lost, and after a restart the message goes through; a header over
# max-header-size: 552 5.3.4 at the client, nothing relayed; a module that
# fails (tests/milter/failing_module.c): 451 4.3.0 at the client, nothing
# relayed unsigned; the milter { } block reloaded on SIGHUP (default-vmta
# changed: the next message signed by the new VMTA; listen changed: logged
# as waiting for a restart, still served; a broken block refused with its
# line); SIGHUP many times under load: the milter never stops and no
# message is lost; the log renamed and SIGHUP: a new file (logrotate);
# exit codes at start (64, 66, 78; once at <3> when stderr is the
# journal); SIGTERM stops it with status 0.
#
# Needs root (network namespace, Postfix as root), apt (to download
# Postfix once), dnsmasq-base, python3-dkim, libmail-dkim-perl.
# MILTER_TEST_KEEP=1 keeps the work folder; MILTER_TEST_VERBOSE=1 lists
# passing checks too.
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${MILTER_TEST_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"
# shellcheck source=../lib/postfix.sh
. "$ROOT/tests/lib/postfix.sh"

SIGN_DOMAIN=sign.example
PORT_A=2525          # milter_macro_daemon_name=vmta-a
PORT_B=2526          # milter_macro_daemon_name=vmta-b (X-Virtual-MTA allowed)
PORT_C=2527          # no override: $myhostname, unmapped
SINK_PORT=2600
MILTER_PORT=8891

fatal() {
	bad "$@"
	finish
}

# ================================================================ inner
# Runs inside the namespace: loopback and DNS are the test's own.

inner() {
	BUILD=$1
	WORK=$2
	PF=$WORK/postfix/root       # the unpacked package
	CONF=$WORK/postfix/etc      # its config folder
	PFW=$WORK/postfix           # its spool, data and log
	SINK=$WORK/sink
	MILTER=$BUILD/vdkim-milter
	MLOG=$WORK/milter.log
	trap inner_stop EXIT
	write_vdkim_conf
	start_sink
	start_milter
	start_postfix
	basic_tests
	vmta_tests
	header_tests
	require_tests
	sendmail_tests
	killed_milter_tests
	big_header_tests
	module_error_tests
	block_reload_tests
	sighup_tests
	logrotate_tests
	sigterm_tests
}

inner_stop() {
	postfix_cmd stop >/dev/null 2>&1
	[[ -z ${MILTER_PID:-} ]] || kill "$MILTER_PID" 2>/dev/null
	[[ -z ${SINK_PID:-} ]] || kill "$SINK_PID" 2>/dev/null
	wait 2>/dev/null
}

write_vdkim_conf() {
	cat >"$WORK/vdkim.conf" <<CONF
# tests/milter/run.sh
domain-key = "ex3,$SIGN_DOMAIN,$WORK/keys/ex3.private"
domain "*" {
    dkim-sign = yes
}
virtual-mta vmta-a {
    domain-key = "ex1,$SIGN_DOMAIN,$WORK/keys/ex1.private"
}
virtual-mta vmta-b {
    domain-key = "ex2,$SIGN_DOMAIN,$WORK/keys/ex2.private"
}
virtual-mta fallback {
}
virtual-mta strict {
    domain "*" {
        dkim-sign = yes
        dkim-require = yes
    }
}
milter {
    module = "$BUILD/vdkim.so"
    listen = "inet:$MILTER_PORT@127.0.0.1"
    log-file = "$MLOG"
    log-level = debug
    vmta-macro = "{daemon_name}"
    default-vmta = "fallback"
    vmta-map = { "vmta-a=vmta-a", "vmta-b=vmta-b" }
    x-virtual-mta-sources = { "vmta-b" }
    max-header-size = 16384
}
# The other shipped host's block: one file serves them all.
harness {
    module = "/nowhere/vdkim.so"
}
CONF
	if out=$("$MILTER" --version 2>&1) &&
	    [[ $out =~ ^vdkim-milter\ \(vdkim\)\ [0-9]+\.[0-9]+$ ]]; then
		ok "vdkim-milter --version: \"$out\""
	else
		bad "vdkim-milter --version" "$out"
	fi
	if out=$("$MILTER" --config "$WORK/vdkim.conf" --check 2>&1); then
		ok "vdkim-milter --check accepts the config"
	else
		fatal "vdkim-milter --check accepts the config" "$out"
	fi
	exit_code_tests
}

# sysexits at start: 64 a bad command line, 66 no config file, 78 a bad
# config; under systemd (JOURNAL_STREAM is stderr) the reason once, <3>.
exit_code_tests() {
	local rc err=$WORK/journal.err
	"$MILTER" --bogus >/dev/null 2>&1
	rc=$?
	if ((rc == 64)); then ok "vdkim-milter --bogus: exit 64"; else bad "vdkim-milter --bogus: exit 64 (got $rc)"; fi
	"$MILTER" --config "$WORK/none.conf" --check >/dev/null 2>&1
	rc=$?
	if ((rc == 66)); then ok "vdkim-milter, no config file: exit 66"; else bad "vdkim-milter, no config file: exit 66 (got $rc)"; fi
	# No log-file: under systemd the log is the journal.
	sed -e "s#module = \".*\"#module = \"$WORK/none.so\"#" -e '/log-file/d' \
	    "$WORK/vdkim.conf" >"$WORK/bad.conf"
	: >"$err"
	(
		JOURNAL_STREAM=$(stat -c '%d:%i' "$err")
		export JOURNAL_STREAM
		exec "$MILTER" --config "$WORK/bad.conf" --check 2>>"$err" >/dev/null
	)
	rc=$?
	if ((rc == 78)) && [[ $(grep -c "none.so" "$err") == 1 ]] &&
	    grep -q "^<3>.*none.so" "$err"; then
		ok "vdkim-milter, a module that does not load: exit 78, said once at <3> to the journal"
	else
		bad "vdkim-milter, a module that does not load: exit 78 (got $rc), once at <3>" "$err"
	fi
}

# logrotate without copytruncate: the log renamed, SIGHUP, a new file.
logrotate_tests() {
	local i n
	mv "$MLOG" "$MLOG.1"
	n=$(grep -c "SIGHUP: reloading" "$MLOG.1")
	kill -HUP "$MILTER_PID"
	for ((i = 0; i < 50; i++)); do
		grep -qs "module config reloaded" "$MLOG" && break
		sleep 0.1
	done
	if grep -qs "module config reloaded" "$MLOG" &&
	    [[ $(grep -c "SIGHUP: reloading" "$MLOG.1") == "$n" ]]; then
		ok "SIGHUP after the log was renamed: a new log file"
	else
		bad "SIGHUP after the log was renamed: a new log file" "$MLOG.1"
	fi
}

start_sink() {
	sink_start "$SINK_PORT" "$SINK" "$WORK/sink.err" ||
	    fatal "the sink listens" "$WORK/sink.err"
}

# start_milter [CONFIG]: vdkim-milter on MILTER_PORT (default config:
# WORK/vdkim.conf).
start_milter() {
	"$MILTER" --config "${1:-$WORK/vdkim.conf}" 2>>"$WORK/milter.err" &
	MILTER_PID=$!
	if wait_port "$MILTER_PORT"; then
		ok "vdkim-milter listens on inet:$MILTER_PORT@127.0.0.1"
	else
		fatal "vdkim-milter listens" "$MLOG" "$WORK/milter.err"
	fi
}

# The private Postfix (tests/lib/postfix.sh): main.cf, master.cf; start.
start_postfix() {
	local d
	postfix_start "$ROOT/tests/milter/main.cf.in" \
	    "$ROOT/tests/milter/master.cf.in" \
	    -e "s|@SINK_PORT@|$SINK_PORT|g" -e "s|@MILTER_PORT@|$MILTER_PORT|g" \
	    -e "s|@PORT_A@|$PORT_A|g" -e "s|@PORT_B@|$PORT_B|g" \
	    -e "s|@PORT_C@|$PORT_C|g" ||
	    fatal "the private Postfix starts" "$POSTFIX_OUT" \
	    "$WORK/postfix/log/maillog"
	for d in "$PORT_A" "$PORT_B" "$PORT_C"; do
		wait_port "$d" || fatal "Postfix's smtpd listens on $d" \
		    "$WORK/postfix/log/maillog"
	done
	ok "the private Postfix 3.7 runs ($(postfix_version))"
}

# ------------------------------------------------------------ messages

# make_msg KIND [EXTRA-FIELD]: a message file; KIND text, 8bit or big.
make_msg() {
	local kind=$1 extra=${2:-} f
	mkdir -p "$WORK/msgs"
	# Called in $(...): the number comes from the folder, not a variable.
	MSGN=$(($(find "$WORK/msgs" -name 'm*.eml' | wc -l) + 1))
	f=$WORK/msgs/m$MSGN.eml
	{
		printf 'From: Sender <user@%s>\n' "$SIGN_DOMAIN"
		printf 'To: rcpt@dest.example\n'
		printf 'Subject: milter test m%d\n' "$MSGN"
		printf 'Message-ID: <m%d.%d@%s>\n' "$MSGN" "$$" "$SIGN_DOMAIN"
		printf 'X-Folded: one\n\ttwo,  three\n'
		[[ -z $extra ]] || printf '%s\n' "$extra"
		if [[ $kind == 8bit ]]; then
			printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
			printf 'Content-Transfer-Encoding: 8bit\n\n'
			printf 'Gr\xc3\xbc\xc3\x9fe, \xc3\xa9t\xc3\xa9, \xe2\x82\xac\n'
		else
			printf '\n'
		fi
		printf 'Body of m%d.\n.leading dot\n  indented  line  \n' "$MSGN"
		if [[ $kind == big ]]; then
			"$PY" -c "
import sys
line = b'0123456789abcdefghijklmnopqrstuvwxyz' * 2 + b'\n'
sys.stdout.buffer.write(line * (11 * 1024 * 1024 // len(line)))"
		fi
	} >"$f"
	echo "$f"
}

subject_of() {
	sed -n 's/^Subject: \(milter test m[0-9]*\).*/\1/p' "$1" | head -n 1
}

# arrived FILE: the sink's copy of FILE (by Subject), or nothing.
arrived() {
	local s
	s=$(subject_of "$1")
	grep -lx "Subject: $s"$'\r' "$SINK"/*.eml 2>/dev/null | head -n 1
}

# wait_arrived FILE...: every one reaches the sink (60 s).
wait_arrived() {
	local i f missing
	for ((i = 0; i < 600; i++)); do
		missing=0
		for f in "$@"; do
			[[ -n $(arrived "$f") ]] || { missing=1; break; }
		done
		((missing)) || return 0
		sleep 0.1
	done
	return 1
}

# send WHAT PORT FILE... [-- smtp_send options]: one session.
send() {
	local what=$1 port=$2 out
	shift 2
	if out=$("$PY" "$ROOT/tests/exim/smtp_send.py" --port "$port" \
	    --from "user@$SIGN_DOMAIN" "$@" 2>&1); then
		SENT_OUT=$out
		return 0
	fi
	SENT_OUT=$out
	bad "$what: accepted by Postfix" "$out"
	return 1
}

# verified WHAT SELECTOR COPY: all three verifiers pass with s=SELECTOR.
verified() {
	local what=$1 sel=$2 copy=$3 out
	if out=$("$PY" "$ROOT/tests/peers/dkimpy_peer.py" verify "$copy" 2>&1) &&
	    [[ $out == *"dkim=pass d=$SIGN_DOMAIN s=$sel "* || $out == *"dkim=pass d=$SIGN_DOMAIN s=$sel" ]]; then
		ok "$what: dkimpy: pass, s=$sel"
	else
		bad "$what: dkimpy: pass, s=$sel" "$out" "$(head -c 1500 "$copy")"
	fi
	if out=$(perl "$ROOT/tests/peers/maildkim_peer.pl" verify "$copy" 2>&1) &&
	    [[ $out == *"dkim=pass d=$SIGN_DOMAIN s=$sel"* ]]; then
		ok "$what: Mail::DKIM: pass"
	else
		bad "$what: Mail::DKIM: pass" "$out"
	fi
	if out=$("$BUILD/peers/opendkim_peer" verify "$copy" 2>&1) &&
	    [[ $out == *pass* ]]; then
		ok "$what: libopendkim: pass"
	else
		bad "$what: libopendkim: pass" "$out"
	fi
}

# delivered_signed WHAT SELECTOR FILE...: arrived, verifies, s=SELECTOR.
delivered_signed() {
	local what=$1 sel=$2 f
	shift 2
	if ! wait_arrived "$@"; then
		bad "$what: reaches the sink" "$WORK/postfix/log/maillog" "$MLOG"
		return 1
	fi
	for f in "$@"; do
		verified "$what ($(basename "$f"))" "$sel" "$(arrived "$f")"
	done
}

# ---------------------------------------------------------------- tests

basic_tests() {
	local f g h
	f=$(make_msg text)
	send "one message" "$PORT_A" "$f" && delivered_signed "one message" ex1 "$f"

	f=$(make_msg text) g=$(make_msg text) h=$(make_msg text)
	send "three in one session" "$PORT_A" "$f" "$g" "$h" &&
	    delivered_signed "three in one session" ex1 "$f" "$g" "$h"

	f=$(make_msg 8bit)
	send "8-bit" "$PORT_A" --8bit "$f" && delivered_signed "8-bit" ex1 "$f"
	if [[ -n $(arrived "$f") ]] && grep -q $'\xc3\xbc' "$(arrived "$f")"; then
		ok "8-bit: the body arrives as 8 bits (no conversion after signing)"
	else
		bad "8-bit: the body arrives as 8 bits" "$(arrived "$f")"
	fi

	f=$(make_msg big)
	send "over 10 MB" "$PORT_A" "$f" && delivered_signed "over 10 MB" ex1 "$f"
	# Postfix's own Received: comes before the signature, either signed
	# consistently or not at all: the copies above verify either way.
	if [[ -n $(arrived "$f") ]] && head -n 1 "$(arrived "$f")" | grep -q '^DKIM-Signature: '; then
		ok "the signature is the first field"
	else
		bad "the signature is the first field" "$(head -c 1500 "$(arrived "$f")")"
	fi
}

vmta_tests() {
	local f
	f=$(make_msg text)
	send "smtpd vmta-b" "$PORT_B" "$f" &&
	    delivered_signed "smtpd with milter_macro_daemon_name=vmta-b" ex2 "$f"
	f=$(make_msg text)
	send "unmapped daemon name" "$PORT_C" "$f" &&
	    delivered_signed "unmapped {daemon_name}: default-vmta" ex3 "$f"
	if grep -q "source=signer.test vmta=fallback (default)" "$MLOG"; then
		ok "unmapped {daemon_name}: logged with the default VMTA"
	else
		bad "unmapped {daemon_name}: logged with the default VMTA" "$MLOG"
	fi
}

# no_field WHAT NAME COPY
no_field() {
	if grep -qi "^$2:" "$3"; then
		bad "$1: $2 removed" "$3"
	else
		ok "$1: $2 removed"
	fi
}

header_tests() {
	local f c
	f=$(make_msg text "X-DKIM-Options: s=other; d=$SIGN_DOMAIN")
	send "X-DKIM-Options" "$PORT_A" "$f" &&
	    delivered_signed "X-DKIM-Options" ex1 "$f" &&
	    no_field "X-DKIM-Options" X-DKIM-Options "$(arrived "$f")"
	# vmta-a may not choose its VMTA: ignored, removed.
	f=$(make_msg text "X-Virtual-MTA: vmta-b")
	send "X-Virtual-MTA from vmta-a" "$PORT_A" "$f" &&
	    delivered_signed "X-Virtual-MTA from vmta-a (not allowed)" ex1 "$f" &&
	    no_field "X-Virtual-MTA from vmta-a" X-Virtual-MTA "$(arrived "$f")"
	# vmta-b may.
	f=$(make_msg text "X-Virtual-MTA: vmta-a")
	send "X-Virtual-MTA from vmta-b" "$PORT_B" "$f" &&
	    delivered_signed "X-Virtual-MTA from vmta-b (allowed)" ex1 "$f" &&
	    no_field "X-Virtual-MTA from vmta-b" X-Virtual-MTA "$(arrived "$f")"
	: "${c:=}"
}

require_tests() {
	local f
	f=$(make_msg text "X-Virtual-MTA: strict")
	sed -i "s/^From: .*/From: Other <user@nokey.example>/" "$f"
	if out=$("$PY" "$ROOT/tests/exim/smtp_send.py" --port "$PORT_B" \
	    --from user@nokey.example "$f" 2>&1); then
		bad "dkim-require without a key: refused" "$out"
	elif [[ $out == *" 451 4.7.5"* ]]; then
		ok "dkim-require without a key: the client sees 451 4.7.5"
	else
		bad "dkim-require without a key: the client sees 451 4.7.5" "$out"
	fi
	sleep 1
	if [[ -z $(arrived "$f") ]]; then
		ok "dkim-require without a key: nothing relayed"
	else
		bad "dkim-require without a key: nothing relayed" "$(arrived "$f")"
	fi
}

# Mail that does not come over SMTP: pickup, non_smtpd_milters.
sendmail_tests() {
	local f
	f=$(make_msg text)
	if LD_LIBRARY_PATH=$PF/usr/lib/postfix MAIL_CONFIG=$CONF \
	    "$PF/usr/sbin/sendmail" -C "$CONF" -f "user@$SIGN_DOMAIN" \
	    rcpt@dest.example <"$f" 2>"$WORK/sendmail.err"; then
		delivered_signed "the sendmail command (non_smtpd_milters)" ex3 "$f"
	else
		bad "the sendmail command accepts a message" "$WORK/sendmail.err"
	fi
}

killed_milter_tests() {
	local f g out
	f=$(make_msg text) g=$(make_msg text)
	# One session: f, then the milter dies, then g.
	out=$("$PY" - "$PORT_A" "$MILTER_PID" "$f" "$g" <<'PYEOF' 2>&1
import os, signal, smtplib, sys, time
port, pid, f, g = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo()
for i, path in enumerate((f, g)):
    if i == 1:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    data = open(path, "rb").read().replace(b"\n", b"\r\n")
    # The first refusal counts: MAIL, RCPT or the end of DATA.
    code, text = s.mail("user@sign.example")
    if code == 250:
        code, text = s.rcpt("rcpt@dest.example")
    if code == 250:
        try:
            code, text = s.data(data)
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
    print(code, text.decode())
    if code != 250:
        s.rset()
s.quit()
PYEOF
	)
	wait "$MILTER_PID" 2>/dev/null
	if [[ $(sed -n 1p <<<"$out") == 250* && $(sed -n 2p <<<"$out") == 4* ]]; then
		ok "milter killed mid-session: 250, then 4xx (tempfail)"
	else
		bad "milter killed mid-session: 250, then 4xx (tempfail)" "$out"
	fi
	delivered_signed "milter killed: the message before" ex1 "$f"
	sleep 1
	if [[ -z $(arrived "$g") ]]; then
		ok "milter killed: the refused message was not relayed unsigned"
	else
		bad "milter killed: the refused message was not relayed" "$(arrived "$g")"
	fi
	start_milter
	send "after the restart" "$PORT_A" "$g" &&
	    delivered_signed "milter killed: the message sent again" ex1 "$g"
}

# refused WHAT PORT CODE FILE: the client gets CODE at the end of DATA
# and nothing reaches the sink.
refused() {
	local what=$1 port=$2 code=$3 f=$4 out
	if out=$("$PY" "$ROOT/tests/exim/smtp_send.py" --port "$port" \
	    --from "user@$SIGN_DOMAIN" "$f" 2>&1); then
		bad "$what: refused with $code" "$out"
	elif [[ $out == *" $code"* ]]; then
		ok "$what: the client sees $code"
	else
		bad "$what: the client sees $code" "$out"
	fi
	sleep 1
	if [[ -z $(arrived "$f") ]]; then
		ok "$what: nothing relayed"
	else
		bad "$what: nothing relayed" "$(arrived "$f")"
	fi
}

# A header over max-header-size (16384 here): 552 5.3.4, the documented
# answer; Postfix's own header_size_limit (102400) is above it.
big_header_tests() {
	local f i extra=""
	for ((i = 1; i <= 20; i++)); do
		extra+="X-Filler-$i: $(printf 'y%.0s' {1..990})"$'\n'
	done
	f=$(make_msg text "${extra%$'\n'}")
	refused "a 20 KB header (max-header-size 16384)" "$PORT_A" "552 5.3.4" "$f"
	if grep -q "header over max-header-size (16384 bytes): rejected" "$MLOG"; then
		ok "a 20 KB header: the milter logs why"
	else
		bad "a 20 KB header: the milter logs why" "$MLOG"
	fi
}

# The module fails (failing_module.so in place of vdkim.so, same port):
# 451 4.3.0 and nothing leaves unsigned; then vdkim.so again.
module_error_tests() {
	local f
	sed -e "s|^    module = .*|    module = \"$BUILD/failing_module.so\"|" \
	    -e 's|^    default-vmta = .*|    default-vmta = "fail-end"|' \
	    -e 's|^    vmta-map = .*|    vmta-map = { "vmta-a=fail-begin", "vmta-b=bad-action" }|' \
	    "$WORK/vdkim.conf" >"$WORK/failing.conf"
	kill "$MILTER_PID"
	wait "$MILTER_PID" 2>/dev/null
	start_milter "$WORK/failing.conf"
	f=$(make_msg text)
	refused "module error in msg_begin" "$PORT_A" "451 4.3.0" "$f"
	f=$(make_msg text)
	refused "module error: an action no ABI has" "$PORT_B" "451 4.3.0" "$f"
	f=$(make_msg text)
	refused "module error in msg_end" "$PORT_C" "451 4.3.0" "$f"
	if [[ $(grep -c "no usable answer from the module: deferred (module-error)" "$MLOG") == 3 ]]; then
		ok "module errors: each logged as module-error"
	else
		bad "module errors: each logged as module-error" "$MLOG"
	fi
	kill "$MILTER_PID"
	wait "$MILTER_PID" 2>/dev/null
	start_milter
	send "vdkim.so again" "$PORT_A" "$f" &&
	    delivered_signed "after the module errors, vdkim.so again" ex1 "$f"
}

# hup_until PATTERN: SIGHUP, then until one more log line has PATTERN.
hup_until() {
	local n i
	n=$(grep -c -- "$1" "$MLOG")
	kill -HUP "$MILTER_PID"
	for ((i = 0; i < 100; i++)); do
		(($(grep -c -- "$1" "$MLOG") > n)) && return 0
		sleep 0.1
	done
	return 1
}

# The milter { } block on SIGHUP.
block_reload_tests() {
	local f line
	cp "$WORK/vdkim.conf" "$WORK/vdkim.conf.orig"
	sed -i 's|^    default-vmta = .*|    default-vmta = "vmta-b"|' "$WORK/vdkim.conf"
	if hup_until 'milter { } reloaded .*default vmta-b'; then
		ok "SIGHUP: milter { } reloaded (default-vmta vmta-b)"
	else
		bad "SIGHUP: milter { } reloaded (default-vmta vmta-b)" "$MLOG"
	fi
	f=$(make_msg text)
	send "new default-vmta" "$PORT_C" "$f" &&
	    delivered_signed "after the reload: the unmapped smtpd gets the new default-vmta" ex2 "$f"
	sed -e "s|inet:$MILTER_PORT@127.0.0.1|inet:$((MILTER_PORT + 1))@127.0.0.1|" \
	    "$WORK/vdkim.conf.orig" >"$WORK/vdkim.conf"
	if hup_until "listen changed from \"inet:$MILTER_PORT@127.0.0.1\" to \"inet:$((MILTER_PORT + 1))@127.0.0.1\": takes effect at the next start"; then
		ok "SIGHUP: a changed listen is logged as waiting for a restart"
	else
		bad "SIGHUP: a changed listen is logged as waiting for a restart" "$MLOG"
	fi
	f=$(make_msg text)
	send "listen changed" "$PORT_C" "$f" &&
	    delivered_signed "after the listen change: still served, the default-vmta back" ex3 "$f"
	sed -e 's/max-header-size = 16384/max-header-size = many/' \
	    "$WORK/vdkim.conf.orig" >"$WORK/vdkim.conf"
	line=$(grep -n "max-header-size = many" "$WORK/vdkim.conf" | cut -d: -f1)
	if hup_until "milter { } not reloaded, the running settings stay: $WORK/vdkim.conf:$line:"; then
		ok "SIGHUP: a broken milter { } block refused with FILE:LINE"
	else
		bad "SIGHUP: a broken milter { } block refused with FILE:LINE" "$MLOG"
	fi
	f=$(make_msg text)
	send "broken block" "$PORT_A" "$f" &&
	    delivered_signed "after the refused reload: still signing" ex1 "$f"
	cp "$WORK/vdkim.conf.orig" "$WORK/vdkim.conf"
	hup_until 'milter { } reloaded' || bad "SIGHUP: the original config back" "$MLOG"
}

sighup_tests() {
	local files=() i n=0 pids=() status=0
	for ((i = 0; i < 40; i++)); do
		files+=("$(make_msg text)")
	done
	# Four sessions of ten messages, SIGHUP every 20 ms meanwhile.
	for ((i = 0; i < 4; i++)); do
		"$PY" "$ROOT/tests/exim/smtp_send.py" --port "$PORT_A" \
		    --from "user@$SIGN_DOMAIN" "${files[@]:i*10:10}" \
		    >"$WORK/load.$i" 2>&1 &
		pids+=($!)
	done
	while kill -0 "${pids[@]}" 2>/dev/null && ((n < 2000)); do
		kill -HUP "$MILTER_PID" 2>/dev/null || break
		n=$((n + 1))
		sleep 0.02
	done
	for i in "${pids[@]}"; do
		wait "$i" || status=1
	done
	if kill -0 "$MILTER_PID" 2>/dev/null && ((n > 10)); then
		ok "$n SIGHUPs under load: vdkim-milter still runs"
	else
		bad "$n SIGHUPs under load: vdkim-milter still runs" "$MLOG" "$WORK/milter.err"
	fi
	if ((status == 0)); then
		ok "SIGHUP under load: all 40 messages accepted"
	else
		bad "SIGHUP under load: all 40 messages accepted" "$(cat "$WORK"/load.*)"
	fi
	if grep -q "module config reloaded" "$MLOG"; then
		ok "SIGHUP: the module's config is reloaded"
	else
		bad "SIGHUP: the module's config is reloaded" "$MLOG"
	fi
	kill -USR1 "$MILTER_PID"
	sleep 0.5
	if [[ $(grep -c "module config reloaded" "$MLOG") -ge 1 ]] &&
	    kill -0 "$MILTER_PID" 2>/dev/null; then
		ok "SIGUSR1: reload, still running"
	else
		bad "SIGUSR1: reload, still running" "$MLOG"
	fi
	if wait_arrived "${files[@]}"; then
		local copies=()
		for i in "${files[@]}"; do copies+=("$(arrived "$i")"); done
		if out=$("$PY" "$ROOT/tests/peers/dkimpy_peer.py" verify "${copies[@]}" 2>&1) &&
		    [[ $(grep -c "dkim=pass d=$SIGN_DOMAIN s=ex1" <<<"$out") == 40 ]]; then
			ok "SIGHUP under load: all 40 arrive signed and verify"
		else
			bad "SIGHUP under load: all 40 arrive signed and verify" "$out"
		fi
	else
		bad "SIGHUP under load: all 40 reach the sink" "$WORK/postfix/log/maillog"
	fi
}

sigterm_tests() {
	local rc
	kill -TERM "$MILTER_PID"
	wait "$MILTER_PID"
	rc=$?
	MILTER_PID=
	if ((rc == 0)) && grep -q "stopped" "$MLOG"; then
		ok "SIGTERM: vdkim-milter stops, status 0"
	else
		bad "SIGTERM: vdkim-milter stops, status 0 (got $rc)" "$MLOG"
	fi
}

if [[ ${1:-} == --inner ]]; then
	inner "$2" "$3"
	finish
fi

# ================================================================ outer

BUILD=$(cd "${1:-build}" && pwd)
[[ -x $BUILD/vdkim-milter && -x $BUILD/vdkim.so && -x $BUILD/vdkimctl ]] ||
    fatal "build first: $BUILD/vdkim-milter, vdkim.so, vdkimctl"
CACHE=$BUILD/cache
# Postfix's daemons run as the postfix user and must reach their folders:
# a folder of its own, not under the checkout (which may be root-only: CI
# clones into a mktemp -d).
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-milter.XXXXXX") || fatal "mktemp"
chmod 0755 "$WORK"
mkdir -p "$WORK/keys" "$WORK/postfix" "$CACHE"

# Debian's Postfix, unpacked (not installed).
postfix_unpack "$CACHE" "$WORK/postfix/root" ||
    fatal "Debian's postfix package, downloaded and unpacked"

for s in ex1 ex2 ex3; do
	"$BUILD/vdkimctl" keygen --selector "$s" --domain "$SIGN_DOMAIN" \
	    --dir "$WORK/keys" >/dev/null || fatal "vdkimctl keygen $s"
done

cleanup() {
	if [[ -z ${MILTER_TEST_KEEP:-} ]]; then
		rm -rf "$WORK"
	else
		echo "milter: work folder kept: $WORK" >&2
	fi
}
# shellcheck source=../lib/dns_netns.sh
. "$ROOT/tests/lib/dns_netns.sh"
# shellcheck disable=SC2034 # called by dns_netns.sh's EXIT trap
DNS_NETNS_EXIT_HOOK=cleanup
dns_netns_init || fatal "dns_netns_init"
dns_netns_add_zone "$WORK"/keys/ex*.txt || fatal "add the keys' TXT records"
dns_netns_start || fatal "dnsmasq starts in the namespace"
dns_netns_exec bash "${BASH_SOURCE[0]}" --inner "$BUILD" "$WORK"
