#!/usr/bin/env bash
# tests/milter/sendmail.sh BUILD_DIR - vdkim-milter behind a real Sendmail.
#
# Sendmail comes from Debian's packages (sendmail-bin, sendmail-base,
# sendmail-cf and libwrap0, which the test machine lacks), downloaded once
# (apt-get download, cached in BUILD/cache) and unpacked into a work folder
# of its own, never installed: sendmail-bin conflicts with the Exim the
# other tests install.  Its sendmail.cf is built with m4 from the unpacked
# cf folder and tests/milter/sendmail.mc.in (INPUT_MAIL_FILTER on the
# milter, a smart host on the sink, its own queue folder, two daemons
# named vmta-a and vmta-b, one named strict); it runs as root in the
# foreground (-bD) in a UTS namespace of its own whose host name is
# qualified (an unqualified one makes Sendmail sleep a minute and retry
# at start), and is stopped by its PID.
#
# In a private network namespace with its own dnsmasq
# (tests/lib/dns_netns.sh) holding the keys' TXT records, what reaches the
# sink (tests/milter/sink.py) is verified by dkimpy and Mail::DKIM over
# DNS: one message; three in one session; the VMTA from Sendmail's
# {daemon_name} (one of its default connect macros: vmta-a signs with
# ex1, vmta-b with ex2); dkim-require without a key: the client sees
# 451 4.7.5 and nothing is relayed; the milter stopped (F=T): 4xx at the
# client, nothing relayed unsigned.
#
# Needs root (network and UTS namespaces), apt (to download the packages
# once), m4, dnsmasq-base, python3-dkim, libmail-dkim-perl.
# SENDMAIL_TEST_KEEP=1 keeps the work folder; SENDMAIL_TEST_VERBOSE=1
# lists passing checks too.
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${SENDMAIL_TEST_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"
# shellcheck source=../lib/postfix.sh
. "$ROOT/tests/lib/postfix.sh"   # wait_port, sink_start

SIGN_DOMAIN=sign.example
PORT_A=2535          # Name=vmta-a
PORT_B=2536          # Name=vmta-b
PORT_S=2537          # Name=strict: dkim-require
SINK_PORT=2610
MILTER_PORT=8895
# What Sendmail needs beyond the machine's libraries.
SENDMAIL_DEBS="sendmail-bin sendmail-base sendmail-cf libwrap0"

fatal() {
	bad "$@"
	finish
}

# sendmail_unpack CACHE DEST: the packages, downloaded once into CACHE,
# unpacked into DEST.
sendmail_unpack() {
	local cache=$1 dest=$2 p deb
	mkdir -p "$cache" "$dest"
	for p in $SENDMAIL_DEBS; do
		deb=$(find "$cache" -maxdepth 1 -name "${p}_*.deb" | head -n 1)
		if [[ -z $deb ]]; then
			(cd "$cache" && { apt-get download "$p" >/dev/null 2>&1 ||
			    { apt-get update -qq >/dev/null && apt-get download "$p" >/dev/null; }; }) ||
			    { echo "apt-get download $p failed" >&2; return 1; }
			deb=$(find "$cache" -maxdepth 1 -name "${p}_*.deb" | head -n 1)
		fi
		dpkg -x "$deb" "$dest" || return 1
	done
	# The dynamic loader ignores LD_LIBRARY_PATH in set-gid programs, and
	# libwrap is found only through it: root needs no set-gid.
	chmod g-s "$dest/usr/libexec/sendmail/sendmail"
}

# ================================================================ inner
# Runs inside the namespace: loopback and DNS are the test's own.

inner() {
	BUILD=$1
	WORK=$2
	SM=$WORK/sendmail/root      # the unpacked packages
	SMW=$WORK/sendmail          # its config, queue and status files
	SINK=$WORK/sink
	MLOG=$WORK/milter.log
	trap inner_stop EXIT
	write_vdkim_conf
	sink_start "$SINK_PORT" "$SINK" "$WORK/sink.err" ||
	    fatal "the sink listens" "$WORK/sink.err"
	start_milter
	build_cf
	start_sendmail
	signing_tests
	require_tests
	milter_down_tests
	stop_sendmail
}

inner_stop() {
	[[ -z ${SM_PID:-} ]] || kill "$SM_PID" 2>/dev/null
	[[ -z ${MILTER_PID:-} ]] || kill "$MILTER_PID" 2>/dev/null
	[[ -z ${SINK_PID:-} ]] || kill "$SINK_PID" 2>/dev/null
	wait 2>/dev/null
}

write_vdkim_conf() {
	cat >"$WORK/vdkim.conf" <<CONF
# tests/milter/sendmail.sh
domain "*" {
    dkim-sign = yes
}
virtual-mta vmta-a {
    domain-key = "ex1,$SIGN_DOMAIN,$WORK/keys/ex1.private"
}
virtual-mta vmta-b {
    domain-key = "ex2,$SIGN_DOMAIN,$WORK/keys/ex2.private"
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
    vmta-map = { "vmta-a=vmta-a", "vmta-b=vmta-b", "strict=strict" }
}
CONF
}

start_milter() {
	"$BUILD/vdkim-milter" --config "$WORK/vdkim.conf" 2>>"$WORK/milter.err" &
	MILTER_PID=$!
	wait_port "$MILTER_PORT" ||
	    fatal "vdkim-milter listens" "$MLOG" "$WORK/milter.err"
}

# sendmail.cf from tests/milter/sendmail.mc.in and the unpacked cf folder.
build_cf() {
	mkdir -p "$SMW/mqueue"
	chmod 0700 "$SMW/mqueue"
	: >"$SMW/aliases"
	echo "hosts files" >"$SMW/service.switch"
	if sed -e "s|@CF@|$SM/usr/share/sendmail/cf|g" -e "s|@W@|$SMW|g" \
	    -e "s|@SINK_PORT@|$SINK_PORT|g" -e "s|@MILTER_PORT@|$MILTER_PORT|g" \
	    -e "s|@PORT_A@|$PORT_A|g" -e "s|@PORT_B@|$PORT_B|g" \
	    -e "s|@PORT_S@|$PORT_S|g" "$ROOT/tests/milter/sendmail.mc.in" |
	    m4 >"$SMW/sendmail.cf" 2>"$SMW/m4.err" &&
	    grep -q "^Xvdkim, S=inet:$MILTER_PORT@127.0.0.1" "$SMW/sendmail.cf"; then
		ok "m4 builds sendmail.cf with INPUT_MAIL_FILTER(vdkim)"
	else
		fatal "m4 builds sendmail.cf with INPUT_MAIL_FILTER(vdkim)" "$SMW/m4.err"
	fi
}

# sm_exec [timeout SECONDS] ARGS...: the unpacked Sendmail on the test's
# sendmail.cf, in a UTS namespace whose host name is qualified (with the
# machine's, maybe unqualified, Sendmail sleeps a minute and retries
# before anything).
sm_exec() {
	local -a bound=()
	[[ $1 != timeout ]] || { bound=(timeout "$2"); shift 2; }
	# shellcheck disable=SC2016 # expanded by the inner shell
	"${bound[@]}" unshare --uts sh -c 'hostname signer.test && exec "$@"' sh \
	    env LD_LIBRARY_PATH="$SM/usr/lib/x86_64-linux-gnu" \
	    "$SM/usr/libexec/sendmail/sendmail" -C "$SMW/sendmail.cf" "$@"
}

# Sendmail in the foreground (-bD); SM_PID is Sendmail itself (unshare
# and sh exec it).
start_sendmail() {
	local d version
	sm_exec -bD -q1m >"$SMW/sendmail.out" 2>&1 &
	SM_PID=$!
	for d in "$PORT_A" "$PORT_B" "$PORT_S"; do
		wait_port "$d" || fatal "Sendmail listens on $d" "$SMW/sendmail.out"
	done
	version=$(sm_exec timeout 10 -d0.1 -bt </dev/null 2>&1 | sed -n 's/^Version //p')
	ok "the private Sendmail $version runs"
}

stop_sendmail() {
	local i
	kill -TERM "$SM_PID"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SM_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SM_PID" 2>/dev/null; then
		bad "SIGTERM stops Sendmail (10 s)" "$SMW/sendmail.out"
		kill -KILL "$SM_PID"
	else
		ok "SIGTERM stops Sendmail"
	fi
	wait "$SM_PID" 2>/dev/null
	SM_PID=
}

# ------------------------------------------------------------ messages

# make_msg [FROM-DOMAIN]: a message file; its Subject names it.
make_msg() {
	local dom=${1:-$SIGN_DOMAIN} f
	mkdir -p "$WORK/msgs"
	MSGN=$(($(find "$WORK/msgs" -name 'm*.eml' | wc -l) + 1))
	f=$WORK/msgs/m$MSGN.eml
	{
		printf 'From: Sender <user@%s>\n' "$dom"
		printf 'To: rcpt@dest.example\n'
		printf 'Subject: sendmail test m%d\n' "$MSGN"
		printf 'Message-ID: <m%d.%d@%s>\n' "$MSGN" "$$" "$dom"
		printf 'X-Folded: one\n\ttwo,  three\n\n'
		printf 'Body of m%d.\n.leading dot\n  indented  line  \n' "$MSGN"
	} >"$f"
	echo "$f"
}

# arrived FILE: the sink's copy of FILE (by Subject), or nothing.
arrived() {
	local s
	s=$(sed -n 's/^Subject: \(sendmail test m[0-9]*\).*/\1/p' "$1")
	grep -lx "Subject: $s"$'\r' "$SINK"/*.eml 2>/dev/null | head -n 1
}

# delivered_signed WHAT SELECTOR FILE...: every one reaches the sink (60 s)
# and verifies with dkimpy and Mail::DKIM over DNS, s=SELECTOR.
delivered_signed() {
	local what=$1 sel=$2 f i c out missing
	shift 2
	for ((i = 0; i < 600; i++)); do
		missing=0
		for f in "$@"; do
			[[ -n $(arrived "$f") ]] || { missing=1; break; }
		done
		((missing)) || break
		sleep 0.1
	done
	if ((missing)); then
		bad "$what: reaches the sink" "$MLOG" "$(sm_exec timeout 10 -bp 2>&1)"
		return 1
	fi
	for f in "$@"; do
		c=$(arrived "$f")
		if out=$("$PY" "$ROOT/tests/peers/dkimpy_peer.py" verify "$c" 2>&1) &&
		    [[ $out == *"dkim=pass d=$SIGN_DOMAIN s=$sel "* || $out == *"dkim=pass d=$SIGN_DOMAIN s=$sel" ]]; then
			ok "$what ($(basename "$f")): dkimpy: pass, s=$sel"
		else
			bad "$what ($(basename "$f")): dkimpy: pass, s=$sel" "$out" "$(head -c 1500 "$c")"
		fi
		if out=$(perl "$ROOT/tests/peers/maildkim_peer.pl" verify "$c" 2>&1) &&
		    [[ $out == *"dkim=pass d=$SIGN_DOMAIN s=$sel"* ]]; then
			ok "$what ($(basename "$f")): Mail::DKIM: pass"
		else
			bad "$what ($(basename "$f")): Mail::DKIM: pass" "$out"
		fi
	done
}

# send WHAT PORT FILE...: one session, every message accepted.
send() {
	local what=$1 port=$2 out
	shift 2
	if out=$("$PY" "$ROOT/tests/exim/smtp_send.py" --port "$port" \
	    --from "user@$SIGN_DOMAIN" "$@" 2>&1); then
		return 0
	fi
	bad "$what: accepted by Sendmail" "$out"
	return 1
}

# ---------------------------------------------------------------- tests

signing_tests() {
	local f g h
	f=$(make_msg)
	send "one message" "$PORT_A" "$f" &&
	    delivered_signed "one message (daemon vmta-a)" ex1 "$f"
	f=$(make_msg) g=$(make_msg) h=$(make_msg)
	send "three in one session" "$PORT_A" "$f" "$g" "$h" &&
	    delivered_signed "three in one session" ex1 "$f" "$g" "$h"
	f=$(make_msg)
	send "daemon vmta-b" "$PORT_B" "$f" &&
	    delivered_signed "daemon vmta-b" ex2 "$f"
	if grep -q "source=vmta-b vmta=vmta-b" "$MLOG"; then
		ok "Sendmail's {daemon_name} reaches the milter (source=vmta-b)"
	else
		bad "Sendmail's {daemon_name} reaches the milter (source=vmta-b)" "$MLOG"
	fi
}

require_tests() {
	local f out
	f=$(make_msg nokey.example)
	if out=$("$PY" "$ROOT/tests/exim/smtp_send.py" --port "$PORT_S" \
	    --from user@nokey.example "$f" 2>&1); then
		bad "dkim-require without a key: refused" "$out"
	elif [[ $out == *" 451 4.7.5"* ]]; then
		ok "dkim-require without a key: Sendmail answers 451 4.7.5"
	else
		bad "dkim-require without a key: Sendmail answers 451 4.7.5" "$out"
	fi
	sleep 1
	if [[ -z $(arrived "$f") ]]; then
		ok "dkim-require without a key: nothing relayed"
	else
		bad "dkim-require without a key: nothing relayed" "$(arrived "$f")"
	fi
}

# F=T: with the milter stopped, Sendmail answers 4xx and relays nothing
# unsigned.
milter_down_tests() {
	local f out rc
	kill -TERM "$MILTER_PID"
	wait "$MILTER_PID"
	rc=$?
	MILTER_PID=
	((rc == 0)) || bad "SIGTERM stops vdkim-milter, status 0 (got $rc)" "$MLOG"
	f=$(make_msg)
	if out=$("$PY" "$ROOT/tests/exim/smtp_send.py" --port "$PORT_A" \
	    --from "user@$SIGN_DOMAIN" "$f" 2>&1); then
		bad "milter stopped (F=T): refused" "$out"
	elif [[ $out =~ \ 4[0-9][0-9]\  ]]; then
		ok "milter stopped (F=T): Sendmail answers 4xx (${out#* })"
	else
		bad "milter stopped (F=T): Sendmail answers 4xx" "$out"
	fi
	sleep 1
	if [[ -z $(arrived "$f") ]]; then
		ok "milter stopped (F=T): nothing relayed unsigned"
	else
		bad "milter stopped (F=T): nothing relayed unsigned" "$(arrived "$f")"
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
command -v m4 >/dev/null || fatal "m4 (sh scripts/deps.sh)"
CACHE=$BUILD/cache
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-sendmail.XXXXXX") || fatal "mktemp"
chmod 0755 "$WORK"
mkdir -p "$WORK/keys" "$WORK/sendmail"

sendmail_unpack "$CACHE" "$WORK/sendmail/root" ||
    fatal "Debian's sendmail packages, downloaded and unpacked"

for s in ex1 ex2; do
	"$BUILD/vdkimctl" keygen --selector "$s" --domain "$SIGN_DOMAIN" \
	    --dir "$WORK/keys" >/dev/null || fatal "vdkimctl keygen $s"
done

cleanup() {
	if [[ -z ${SENDMAIL_TEST_KEEP:-} ]]; then
		rm -rf "$WORK"
	else
		echo "milter-sendmail: work folder kept: $WORK" >&2
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
