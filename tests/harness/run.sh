#!/usr/bin/env bash
# tests/harness/run.sh BUILD_DIR - the harness MTA (BUILD_DIR/vdkim-harness)
# around the real module (BUILD_DIR/vdkim.so), end to end on loopback.
#
#   bash tests/harness/run.sh build        (the Makefile's "harness" step)
#
# Needs swaks and python3; no root, no DNS (signatures are checked with
# "vdkimctl verify --key SEL._domainkey.DOM=FILE").  Every instance listens
# on random free ports of 127.0.0.1 below the ephemeral range.
#
# Instances:
#   A  signs at pre-delivery and relays to B; max-recipients 5,
#      max-message-size 6 MB; listeners "in" (source trusted: may use
#      X-Virtual-MTA and X-DKIM-Options) and "strict" (may not)
#   Q  the same policy, signs at pre-queue, relays to B; session-timeout 2
#   B  a policy that signs nothing; delivers to a Maildir
#   R  signs at pre-delivery and relays to B; its reloads are held up
#      at will (open_gate.so preloaded)
#   K, L  the crash test: K signs (in batches: sign-batch = 16, software
#      key) and relays to L, L delivers to a Maildir
#
# Checks: --check and config errors (exit 78, FILE:LINE; 66 for a missing
# file, 64 for a bad command line); messages through
# A and Q arrive in B's Maildir signed (verified), including pipelined,
# 5 MB, 8-bit, multi-domain ones; X-Virtual-MTA chooses the VMTA and is
# removed; X-DKIM-Options chooses the key and is removed; a VMTA without
# signing delivers unsigned with reason signing-disabled in the accounting
# file; dkim-require with no key: 451 at pre-queue, deferred (never sent)
# at pre-delivery; a header the module cannot read: 550 at pre-queue; a
# 5xx from the relay: failed, logged, dropped, not retried; SMTP protocol
# details (tests/harness/smtp_probe.py); a hostile client (control and
# 8-bit bytes in EHLO, MAIL, RCPT: refused; in a header: logged escaped);
# session timeout; 200 idle sessions beside a busy one; SIGHUP reload
# (also with a FIFO at the key or config path: no stall); logrotate: the
# log and accounting files renamed, SIGHUP, new files; the log sinks: S
# logs to syslog (a datagram socket of the test's at log-socket, facility
# local3) or to the journal (JOURNAL_STREAM: <N> on stderr), each line in
# one place; a reload held inside its key loading (R,
# tests/harness/open_gate.c): greetings and mail go on with the old
# policy, a second SIGHUP is coalesced, then the new policy signs; a stop
# waits for the reload;
# SIGTERM exits 0; kill -9 of K during 3000 parallel submissions with L
# down: after the restart every message that got a 250 reaches L's
# Maildir exactly once.
#
# Prints one line per failed check and ends with "N passed, N failed"
# (tests/lib/report.sh); exits 1 when anything failed.
#
# Environment: HARNESS_KEEP=1 keeps the work folder (its path is printed);
# HARNESS_VERBOSE=1 prints every check; VDKIMCTL overrides the key maker
# and verifier (default BUILD_DIR/vdkimctl, else build/vdkimctl: for
# BUILD_DIR=build/san, where only the module and the harness are built).
set -u
export LC_ALL=C

# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${HARNESS_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/harness
WATCHDOG=900          # seconds for the whole run
LOAD=3000             # messages in the crash test
LOAD_PARALLEL=16

WORK=""
declare -A PID=()
WATCHDOG_PID=""

if [[ $# -ne 1 ]]; then
	echo "usage: bash tests/harness/run.sh BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd)
BIN=$BUILD/vdkim-harness
MODULE=$BUILD/vdkim.so
CTL=${VDKIMCTL:-$BUILD/vdkimctl}
OPEN_GATE=$BUILD/open_gate.so
[[ -x $CTL || -n ${VDKIMCTL:-} ]] || CTL=$ROOT/build/vdkimctl
for f in "$BIN" "$CTL" "$MODULE" "$OPEN_GATE"; do
	if [[ ! -f $f ]]; then
		echo "harness: $f not found (make $f first)" >&2
		exit 2
	fi
done
for tool in swaks python3; do
	if ! command -v $tool >/dev/null; then
		echo "harness: $tool is needed (make deps)" >&2
		exit 2
	fi
done

# ------------------------------------------------------------ reporting

# check RC "what" [details...]: RC 0 is success.
check() {
	local rc=$1 what=$2
	shift 2
	if [[ $rc -eq 0 ]]; then
		ok "$what"
	else
		bad "$what" "$@"
	fi
}

# Counts the PASS/FAIL lines of a python checker's output.
tally() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "${line#PASS }" ;;
		FAIL\ *) bad "${line#FAIL }" ;;
		*) [[ -z $line ]] || bad "unexpected output: $line" ;;
		esac
	done
}

# logtail FILE: the end of a log, where the failure is (bad shows the
# first lines of a file it is given).
logtail() {
	tail -n 12 "$1" 2>/dev/null
}

# ------------------------------------------------------------ processes

cleanup() {
	local name
	for name in "${!PID[@]}"; do
		kill -9 "${PID[$name]}" 2>/dev/null
	done
	for name in "${!PID[@]}"; do
		wait "${PID[$name]}" 2>/dev/null
	done
	[[ -z $WATCHDOG_PID ]] || kill "$WATCHDOG_PID" 2>/dev/null
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ -n ${HARNESS_KEEP:-} ]]; then
			echo "harness: work folder kept: $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'echo "harness: interrupted (a signal, or the $WATCHDOG s watchdog)" >&2; exit 1' INT TERM

# wait_until SECONDS COMMAND...: polls every 0.2 s; 0 when it succeeded.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

port_open() {
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$1" 2>/dev/null
}

# start NAME PORT [VAR=VALUE...]: runs the harness on $WORK/NAME.conf (with
# those variables in its environment only), waits for PORT.
start() {
	local name=$1 port=$2
	env "${@:3}" "$BIN" --config "$WORK/$name.conf" >>"$WORK/$name.out" 2>&1 &
	PID[$name]=$!
	if ! wait_until 15 port_open "$port"; then
		bad "$name starts and listens on $port" "$WORK/$name.out" \
		    "$(logtail "$WORK/$name.log")"
		return 1
	fi
}

# alive PID: the process runs (a zombie, exited but not yet waited for,
# does not count).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }     # the state follows the command name
	[[ ${stat:0:1} != Z ]]
}

# stop NAME: SIGTERM, then the exit status (124 when it did not exit).
stop() {
	local name=$1 pid=${PID[$1]} rc
	kill -TERM "$pid" 2>/dev/null
	if ! wait_until 20 eval "! alive $pid"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		unset "PID[$name]"
		return 124
	fi
	wait "$pid"
	rc=$?
	unset "PID[$name]"
	return $rc
}

# ------------------------------------------------------------ mail helpers

# maildir_files DIR MSGID: the files of DIR/new holding that Message-ID.
maildir_files() {
	grep -lis -- "^Message-ID: <$2>" "$1"/new/* 2>/dev/null
}

maildir_count() {
	local n
	n=$(maildir_files "$1" "$2" | wc -l)
	echo "$n"
}

has_message() {
	[[ $(maildir_count "$1" "$2") -ge 1 ]]
}

# wait_message MSGID: waits (20 s) for it in B's Maildir; prints the file.
wait_message() {
	wait_until 20 has_message "$B_MAILDIR" "$1" || return 1
	maildir_files "$B_MAILDIR" "$1" | head -n 1
}

# verify FILE SELECTOR: the DKIM signature by that selector verifies.
verify() {
	"$CTL" verify --key "s1._domainkey.example.com=$KEYS/s1.private" \
	    --key "s2._domainkey.example.com=$KEYS/s2.private" <"$1" \
	    >"$WORK/verify.out" 2>&1 &&
	    grep -q "dkim=pass.*header.s=$2" "$WORK/verify.out"
}

# the header of a message file (up to the first empty line)
header_of() {
	sed -e 's/\r$//' -e '/^$/q' "$1"
}

# swaks_to PORT OUTFILE [swaks options...]: runs swaks (30 s bound).
swaks_to() {
	local port=$1 out=$2
	shift 2
	timeout 60 swaks --server "127.0.0.1:$port" --timeout 30 \
	    --helo client.test "$@" >"$out" 2>&1
}

# queue_ids OUTFILE: the ids of swaks's "queued as" answer.
queue_ids() {
	sed -n 's/.*queued as \(.*\)$/\1/p' "$1" | tr -d '\r' | tail -n 1
}

# accounting FILE ID: that queue id's accounting lines.
accounting() {
	grep -F "queue-id=$2	" "$1" 2>/dev/null
}

# ------------------------------------------------------------ set-up

WORK=$(mktemp -d /tmp/vdkim-harness-test.XXXXXX)
# The watchdog ends with this shell (it checks every second) and holds no
# output open, so nothing waits on it.
(
	for ((i = 0; i < WATCHDOG; i++)); do
		sleep 1
		kill -0 $$ 2>/dev/null || exit 0
	done
	kill -TERM $$
) </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!
KEYS=$WORK/keys
mkdir -p "$KEYS"
for sel in s1 s2; do
	"$CTL" keygen --selector $sel --domain example.com --dir "$KEYS" \
	    >/dev/null 2>"$WORK/keygen.err" || {
		bad "keygen $sel" "$WORK/keygen.err"
		finish
	}
done

read -r A_PORT A2_PORT Q_PORT B_PORT K_PORT L_PORT S_PORT R_PORT < <(python3 "$HERE/free_ports.py" 8)
if [[ -z ${R_PORT:-} ]]; then
	echo "harness: no free ports" >&2
	exit 2
fi
B_MAILDIR=$WORK/maildir-b
L_MAILDIR=$WORK/maildir-l

# The module's policy, shared by the signing instances.
policy() {
	cat <<EOF
# The module's part: keys, sources, virtual MTAs.
domain-key = "s1,example.com,$KEYS/s1.private"
domain-key-list tenant {
    domain-key = "s2,example.com,$KEYS/s2.private"
}
source trusted { process-x-dkim-options = yes }
virtual-mta mta1 { domain "*" { dkim-sign = yes } }
virtual-mta mta-plain { domain "*" { dkim-sign = no } }
virtual-mta mta-req {
    domain "*" {
        dkim-sign = yes
        dkim-require = yes
    }
}
EOF
}

# harness_block NAME SIGN-AT RELAY-LINE LISTENERS [EXTRA]
harness_block() {
	cat <<EOF
harness {
    module = "$MODULE"
    hostname = "$1.harness.test"
    spool-directory = "$WORK/spool-$1"
    log-file = "$WORK/$1.log"
    accounting-file = "$WORK/$1.acct"
    sign-at = $2
    $3
$4
    retry-initial = 1
    retry-max = 2
    delivery-workers = 4
$5
}
EOF
}

{
	policy
	harness_block a pre-delivery "smarthost = \"127.0.0.1:$B_PORT\"" "
    default-virtual-mta = \"mta1\"
    listener in {
        address = \"127.0.0.1:$A_PORT\"
        source = \"trusted\"
        allow-x-virtual-mta = yes
    }
    listener strict {
        address = \"127.0.0.1:$A2_PORT\"
        source = \"smtp\"
        allow-x-virtual-mta = no
    }" "    max-recipients = 5
    max-message-size = 6000000"
} >"$WORK/a.conf"
{
	policy
	harness_block q pre-queue "smarthost = \"127.0.0.1:$B_PORT\"" "
    listener in {
        address = \"127.0.0.1:$Q_PORT\"
        source = \"trusted\"
        allow-x-virtual-mta = yes
        default-virtual-mta = \"mta1\"
    }" "    session-timeout = 2"
} >"$WORK/q.conf"
{
	echo "# B signs nothing: no keys, no virtual MTA."
	harness_block b pre-delivery "maildir = \"$B_MAILDIR\"" "
    listener in { address = \"127.0.0.1:$B_PORT\" }" \
	    "    max-message-size = 5500000"
} >"$WORK/b.conf"
{
	policy
	harness_block k pre-delivery "smarthost = \"127.0.0.1:$L_PORT\"" "
    default-virtual-mta = \"mta1\"
    listener in { address = \"127.0.0.1:$K_PORT\" }" "    intake-workers = 4
    sign-batch = 16"
} >"$WORK/k.conf"
{
	harness_block l pre-delivery "maildir = \"$L_MAILDIR\"" "
    listener in { address = \"127.0.0.1:$L_PORT\" }" "    intake-workers = 4"
} >"$WORK/l.conf"

# R: one key (s1); later one from a file never loaded before (its open()
# is the one the gate holds up).
r_conf() {
	cat <<EOF
domain-key = "$1"
virtual-mta mta1 { domain "*" { dkim-sign = yes } }
EOF
	harness_block r pre-delivery "smarthost = \"127.0.0.1:$B_PORT\"" "
    default-virtual-mta = \"mta1\"
    listener in { address = \"127.0.0.1:$R_PORT\" }" ""
}
r_conf "s1,example.com,$KEYS/s1.private" >"$WORK/r.conf"

# ------------------------------------------------------------ configs

test_configs() {
	local out=$WORK/check.out conf line
	"$BIN" --config "$WORK/a.conf" --check >"$out" 2>&1
	check $? "--check accepts a good config" "$out"
	grep -q "OK" "$out"
	check $? "--check says OK" "$out"

	# bad_config NAME SED-SCRIPT PATTERN: the edited copy of a.conf must
	# fail --check with exit 78 (EX_CONFIG) and a message matching PATTERN.
	bad_config() {
		conf=$WORK/bad-$1.conf
		sed "$2" "$WORK/a.conf" >"$conf"
		"$BIN" --config "$conf" --check >"$out" 2>&1
		local rc=$?
		[[ $rc -eq 78 ]] && grep -q -- "$3" "$out"
		check $? "bad config ($1): exit 78 (got $rc), \"$3\"" "$out"
	}
	line=$(grep -n "max-recipients" "$WORK/a.conf" | cut -d: -f1)
	bad_config int-value 's/max-recipients = 5/max-recipients = lots/' \
	    "bad-int-value.conf:$line:"
	bad_config range 's/max-recipients = 5/max-recipients = 0/' \
	    "bad-range.conf:$line: max-recipients = 0: expected a number"
	bad_config sign-batch "${line}s/.*/    sign-batch = 5000/" \
	    "bad-sign-batch.conf:$line: sign-batch = 5000: expected a number from 0 to 4096"
	bad_config unknown "${line}s/.*/    frobnicate = 1/" \
	    "bad-unknown.conf:$line:.*frobnicate"
	line=$(grep -n "address = \"127.0.0.1:$A2_PORT\"" "$WORK/a.conf" | cut -d: -f1)
	bad_config address "${line}s/127.0.0.1:$A2_PORT/localhost:25/" \
	    "bad-address.conf:$line: address: \"localhost:25\""
	bad_config sign-at "s/sign-at = pre-delivery/sign-at = later/" \
	    "sign-at = later: expected pre-delivery or pre-queue"
	bad_config no-relay '/smarthost = /d' \
	    'set exactly one of "smarthost"'
	bad_config module "s#module = \".*\"#module = \"$WORK/none.so\"#" \
	    "cannot load the module"
	bad_config policy 's/dkim-sign = no/dkim-sign = perhaps/' \
	    "bad-policy.conf:[0-9]*:"
	bad_config no-harness '/^harness {/,$d' 'no "harness { }" block'

	"$BIN" --config "$WORK/missing.conf" --check >"$out" 2>&1
	check $(($? != 66)) "a missing config file: exit 66 (EX_NOINPUT)" "$out"
	"$BIN" --bogus >"$out" 2>&1
	check $(($? != 64)) "a bad option: exit 64 (EX_USAGE)" "$out"
	"$BIN" --config >"$out" 2>&1
	[[ $? -eq 64 ]] && grep -q "requires an argument" "$out"
	check $? "--config without its value: said so, exit 64" "$out"
	"$BIN" --check >"$out" 2>&1
	[[ $? -eq 64 ]] && grep -q -- "--config FILE is missing" "$out"
	check $? "no --config: said so, exit 64" "$out"
	"$BIN" --version >"$out" 2>&1
	[[ $? -eq 0 && $(cat "$out") =~ ^vdkim-harness\ \(vdkim\)\ [0-9]+\.[0-9]+$ ]]
	check $? "--version: the version, exit 0" "$out"
	"$BIN" --help >"$out" 2>&1
	[[ $? -eq 0 && $(head -n 1 "$out") == "usage: vdkim-harness "* ]]
	check $? "--help: the usage, exit 0" "$out"
}

# ------------------------------------------------------------ messages

# send_and_find NAME PORT MSGID [swaks options]: submits; FOUND is the
# file that arrived in B's Maildir.  (Not run in $(...): the counters must
# stay in this shell.)
FOUND=""
send_and_find() {
	local name=$1 port=$2 id=$3 out=$WORK/swaks-$1.out
	shift 3
	FOUND=""
	if ! swaks_to "$port" "$out" --from alice@example.com \
	    --to bob@example.org --h-Message-ID "<$id>" "$@"; then
		bad "$name: submitted (250)" "$out"
		return 1
	fi
	ok "$name: submitted (250)"
	if ! FOUND=$(wait_message "$id"); then
		bad "$name: arrives in B's Maildir" "$(logtail "$WORK/a.log")" "$(logtail "$WORK/b.log")"
		return 1
	fi
	ok "$name: arrives in B's Maildir"
}

test_messages() {
	local f id big data

	send_and_find plain "$A_PORT" plain-1@harness.test \
	    --h-Subject "plain" --body "hello
.a line that starts with a dot
bye" && {
		f=$FOUND
		verify "$f" s1
		check $? "plain: signed by s1 at pre-delivery, verifies" "$WORK/verify.out"
		grep -q "^\.a line that starts with a dot" "$f"
		check $? "plain: the dot-started line survives both hops" "$f"
		id=$(queue_ids "$WORK/swaks-plain.out")
		accounting "$WORK/a.acct" "$id" | grep -q "result=delivered.*signatures=d=example.com s=s1	reason-code=ok"
		check $? "plain: A's accounting line: delivered, d= s=" "$(logtail "$WORK/a.acct")"
		accounting "$WORK/a.acct" "$id" | grep -q "vmta=mta1	rcpt=bob@example.org"
		check $? "plain: A's accounting line: default VMTA, recipient" "$(logtail "$WORK/a.acct")"
		# The size is what A relayed: B's copy less B's Received: field;
		# the Message-ID the message's first (swaks adds one of its own
		# before ours).
		local size mid
		size=$(accounting "$WORK/a.acct" "$id" | sed -n 's/.*	size=\([0-9]*\)	.*/\1/p')
		mid=$(header_of "$f" | grep -i -m 1 '^Message-ID:' | sed 's/^[^:]*: *//')
		[[ -n $size && $mid == "<"*">" ]] && accounting "$WORK/a.acct" "$id" |
		    grep -qF "	sender=alice@example.com	message-id=$mid	size=$size	vmta=" &&
		    (( size > 0 && size < $(stat -c %s "$f") ))
		check $? "plain: A's accounting line: sender, Message-ID, size ($size)" "$(logtail "$WORK/a.acct")"
		grep -q "^Received: from client.test" "$f"
		check $? "plain: A's Received: field" "$f"
	}

	send_and_find pipelined "$A_PORT" pipelined-1@harness.test \
	    --pipeline --h-Subject "pipelined" && {
		f=$FOUND
		grep -q "PIPELINING" "$WORK/swaks-pipelined.out" &&
		    grep -q "^ -> MAIL FROM" "$WORK/swaks-pipelined.out"
		check $? "pipelined: swaks pipelined the envelope" "$WORK/swaks-pipelined.out"
		verify "$f" s1
		check $? "pipelined: signed, verifies" "$WORK/verify.out"
	}

	big=$WORK/big.body
	python3 -c '
import sys
line = ("%-75s" % "five megabytes of body text, line after line").encode() + b"\n"
n = 5 * 1024 * 1024 // len(line) + 1
sys.stdout.buffer.write(line * n)' >"$big"
	send_and_find big "$A_PORT" big-1@harness.test --h-Subject "5 MB" \
	    --body @"$big" && {
		f=$FOUND
		[[ $(stat -c %s "$f") -gt $((5 * 1024 * 1024)) ]]
		check $? "big: 5 MB arrived whole ($(stat -c %s "$f") bytes)"
		verify "$f" s1
		check $? "big: signed, verifies" "$WORK/verify.out"
	}

	data=$WORK/eightbit.eml
	printf 'From: alice@example.com\r\nTo: bob@example.org\r\nSubject: 8-bit\r\nMessage-ID: <eightbit-1@harness.test>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe, na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n' >"$data"
	send_and_find eightbit "$A_PORT" eightbit-1@harness.test \
	    --data @"$data" && {
		f=$FOUND
		grep -q "$(printf 'Gr\xc3\xbc\xc3\x9fe, na\xc3\xafve caf\xc3\xa9')" "$f"
		check $? "eightbit: the 8-bit bytes arrive unchanged" "$f"
		verify "$f" s1
		check $? "eightbit: signed, verifies" "$WORK/verify.out"
	}

	send_and_find vmta "$A_PORT" vmta-1@harness.test \
	    --h-Subject "unsigned VMTA" --add-header "X-Virtual-MTA: mta-plain" && {
		f=$FOUND
		! grep -qi "^DKIM-Signature:" "$f"
		check $? "X-Virtual-MTA mta-plain: delivered unsigned" "$f"
		! grep -qi "^X-Virtual-MTA:" "$f"
		check $? "X-Virtual-MTA: removed before delivery" "$f"
		id=$(queue_ids "$WORK/swaks-vmta.out")
		accounting "$WORK/a.acct" "$id" | grep -q "vmta=mta-plain	.*result=delivered.*signatures=	reason-code=signing-disabled	reason=."
		check $? "mta-plain: accounting says delivered, signing-disabled, why" "$(logtail "$WORK/a.acct")"
	}

	send_and_find vmta-strict "$A2_PORT" vmta-2@harness.test \
	    --h-Subject "X-Virtual-MTA not allowed" \
	    --add-header "X-Virtual-MTA: mta-plain" && {
		f=$FOUND
		verify "$f" s1
		check $? "X-Virtual-MTA from a listener that may not: ignored (signed by the default VMTA)" "$WORK/verify.out"
		! grep -qi "^X-Virtual-MTA:" "$f"
		check $? "X-Virtual-MTA: removed even when ignored" "$f"
	}

	send_and_find options "$A_PORT" options-1@harness.test \
	    --h-Subject "key by X-DKIM-Options" \
	    --add-header "X-DKIM-Options: key-list=tenant; s=s2" && {
		f=$FOUND
		verify "$f" s2
		check $? "X-DKIM-Options key-list=tenant; s=s2: signed by s2, verifies" "$WORK/verify.out"
		! grep -qi "^X-DKIM-Options:" "$f"
		check $? "X-DKIM-Options: removed before delivery" "$f"
	}

	# Pre-queue: the hook runs before the 250.
	send_and_find prequeue "$Q_PORT" prequeue-1@harness.test \
	    --h-Subject "signed before queueing" \
	    --add-header "X-DKIM-Options: key-list=tenant; s=s2" && {
		f=$FOUND
		verify "$f" s2
		check $? "pre-queue: signed (X-DKIM-Options s=s2), verifies" "$WORK/verify.out"
		! grep -qi "^X-DKIM-Options:" "$f"
		check $? "pre-queue: X-DKIM-Options removed" "$f"
		id=$(queue_ids "$WORK/swaks-prequeue.out")
		accounting "$WORK/q.acct" "$id" | grep -q "result=delivered.*signatures=d=example.com s=s2	reason-code=ok"
		check $? "pre-queue: Q's accounting has the pre-queue signature" "$(logtail "$WORK/q.acct")"
	}

	# Two destination domains: two queue ids, two deliveries, both signed.
	local out=$WORK/swaks-domains.out n
	swaks_to "$A_PORT" "$out" --from alice@example.com \
	    --to x@example.org,y@example.net --h-Message-ID "<domains-1@harness.test>"
	check $? "two domains: submitted (250)" "$out"
	[[ $(queue_ids "$out" | wc -w) -eq 2 ]]
	check $? "two domains: two queue ids in the 250" "$out"
	wait_until 20 eval '[[ $(maildir_count "$B_MAILDIR" domains-1@harness.test) -eq 2 ]]'
	check $? "two domains: two copies arrive" "$(logtail "$WORK/a.log")"
	for f in $(maildir_files "$B_MAILDIR" domains-1@harness.test); do
		verify "$f" s1
		check $? "two domains: $(basename "$f") verifies" "$WORK/verify.out"
	done
}

# A message B refuses for good (over B's size limit, under A's): A logs
# it, writes "failed" with B's reply, and drops it (no bounce).
test_relay_refusal() {
	local out=$WORK/swaks-refused.out body=$WORK/refused.body id
	python3 -c '
import sys
line = ("%-75s" % "a body over the size limit of B").encode() + b"\n"
sys.stdout.buffer.write(line * (5800000 // len(line)))' >"$body"
	swaks_to "$A_PORT" "$out" --from alice@example.com --to bob@example.org \
	    --h-Message-ID "<refused-1@harness.test>" --body @"$body"
	check $? "5xx from the relay: A accepts the message" "$out"
	id=$(queue_ids "$out")
	wait_until 20 eval 'accounting "$WORK/a.acct" "$id" | grep -q "result=failed	reply=552 "'
	check $? "5xx from the relay: accounting says failed, with the reply" "$(logtail "$WORK/a.acct")"
	grep -q "warning $id: failed <bob@example.org> (attempt 1): 552 " "$WORK/a.log"
	check $? "5xx from the relay: logged" "$(logtail "$WORK/a.log")"
	[[ ! -e $WORK/spool-a/queue/$id.env && ! -e $WORK/spool-a/queue/$id.msg ]]
	check $? "5xx from the relay: dropped from the spool"
	[[ $(accounting "$WORK/a.acct" "$id" | wc -l) -eq 1 ]]
	check $? "5xx from the relay: not retried" "$(logtail "$WORK/a.acct")"
}

# ------------------------------------------------------------ dkim-require

test_require() {
	local out=$WORK/swaks-require-q.out id

	# Q's queue is empty (its earlier message was relayed) before these.
	wait_until 20 eval '! ls "$WORK/spool-q/queue" | grep -q .'
	check $? "Q's queue drains" "$(logtail "$WORK/q.log")"
	# Pre-queue: the client sees the module's 451 and its reason code.
	swaks_to "$Q_PORT" "$out" --from carol@nokey.test --to bob@example.org \
	    --h-From carol@nokey.test --h-Message-ID "<require-q@harness.test>" \
	    --add-header "X-Virtual-MTA: mta-req"
	grep -q "<\*\* *451 .*(no-key)" "$out"
	check $? "dkim-require, no key, pre-queue: 451 with the reason" "$out"
	[[ ! -d $WORK/spool-q/queue ]] || ! ls "$WORK/spool-q/queue" | grep -q .
	check $? "dkim-require, pre-queue: nothing queued" "$(logtail "$WORK/q.log")"

	# A header the module cannot read: REJECT at pre-queue, a 5xx.
	out=$WORK/swaks-reject-q.out
	printf 'no colon in this header line\r\nSubject: x\r\n\r\nbody\r\n' \
	    >"$WORK/unreadable.eml"
	swaks_to "$Q_PORT" "$out" --from alice@example.com --to bob@example.org \
	    --data @"$WORK/unreadable.eml"
	grep -q "<\*\* *550 .*(bad-message)" "$out"
	check $? "pre-queue REJECT (unreadable header): 550 with the reason" "$out"
	[[ ! -d $WORK/spool-q/queue ]] || ! ls "$WORK/spool-q/queue" | grep -q .
	check $? "pre-queue REJECT: nothing queued" "$(logtail "$WORK/q.log")"

	# Pre-delivery: accepted, then deferred at each attempt, never sent.
	out=$WORK/swaks-require-a.out
	swaks_to "$A_PORT" "$out" --from carol@nokey.test --to bob@example.org \
	    --h-From carol@nokey.test --h-Message-ID "<require-a@harness.test>" \
	    --add-header "X-Virtual-MTA: mta-req"
	check $? "dkim-require, no key, pre-delivery: accepted (250)" "$out"
	id=$(queue_ids "$out")
	wait_until 15 eval '[[ $(accounting "$WORK/a.acct" "$id" | grep -c "result=deferred.*reason-code=no-key	reason=.") -ge 2 ]]'
	check $? "dkim-require, pre-delivery: deferred (no-key) at each attempt" "$(logtail "$WORK/a.acct")"
	accounting "$WORK/a.acct" "$id" | grep -q "reply=451 4.7.5 .*(no-key)"
	check $? "dkim-require, pre-delivery: the module's 451 in the accounting line" "$(logtail "$WORK/a.acct")"
	grep -q "$id: deferred <bob@example.org>.*no-key" "$WORK/a.log"
	check $? "dkim-require, pre-delivery: deferral logged with the reason" "$(logtail "$WORK/a.log")"
	[[ $(maildir_count "$B_MAILDIR" require-a@harness.test) -eq 0 &&
	   $(maildir_count "$B_MAILDIR" require-q@harness.test) -eq 0 ]]
	check $? "dkim-require: nothing delivered unsigned"
	[[ -f $WORK/spool-a/queue/$id.env ]]
	check $? "dkim-require, pre-delivery: still queued"
}

# ------------------------------------------------------------ protocol

test_protocol() {
	local f
	python3 "$HERE/smtp_probe.py" 127.0.0.1 "$A_PORT" protocol \
	    >"$WORK/probe.out" 2>&1
	tally <"$WORK/probe.out"
	if f=$(wait_message probe-pipelined@harness.test); then
		ok "probe: the pipelined message arrives"
		grep -q "^\.dot-stuffed line" "$f" && grep -q "^\.\.two dots" "$f"
		check $? "probe: dot-unstuffing (and restuffing on relay)" "$f"
		[[ $(maildir_count "$B_MAILDIR" probe-pipelined@harness.test) -eq 1 ]]
		check $? "probe: two recipients in one domain: one copy" "$f"
	else
		bad "probe: the pipelined message arrives" "$(logtail "$WORK/a.log")"
	fi
	python3 "$HERE/smtp_probe.py" 127.0.0.1 "$Q_PORT" timeout \
	    >"$WORK/probe-timeout.out" 2>&1
	tally <"$WORK/probe-timeout.out"
}

# no_control_bytes FILE: the header of the message file holds no control
# byte but the CR LF that end its lines and the tabs that fold them.
no_control_bytes() {
	python3 -c '
import re, sys
head = open(sys.argv[1], "rb").read().split(b"\r\n\r\n")[0]
sys.exit(1 if re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]|\r(?!\n)", head) else 0)' "$1"
}

# A hostile client: EHLO, MAIL and RCPT with control and 8-bit bytes are
# refused (smtp_probe.py hostile), nothing of them reaches the Received:
# field; a header value with such bytes is logged escaped.
test_hostile() {
	local f esc out=$WORK/swaks-hostile-log.out
	python3 "$HERE/smtp_probe.py" 127.0.0.1 "$A_PORT" hostile \
	    >"$WORK/probe-hostile.out" 2>&1
	tally <"$WORK/probe-hostile.out"
	if f=$(wait_message probe-hostile@harness.test); then
		grep -q "^Received: from localhost (127.0.0.1" "$f"
		check $? "hostile: Received: names the last good HELO" "$f"
		no_control_bytes "$f"
		check $? "hostile: no control or 8-bit byte in the header" "$f"
	else
		bad "hostile: the message after the refused commands arrives" \
		    "$(logtail "$WORK/a.log")"
	fi
	# The strict listener logs the X-Virtual-MTA it ignores: escaped.
	esc=$'red\x1b[31m\x7fbl\xc3\xa9'
	swaks_to "$A2_PORT" "$out" --from alice@example.com \
	    --to bob@example.org --h-Message-ID "<hostile-log@harness.test>" \
	    --add-header "X-Virtual-MTA: $esc"
	check $? "hostile: a message with control bytes in X-Virtual-MTA is accepted" "$out"
	wait_until 10 grep -qF 'X-Virtual-MTA "red\x1b[31m\x7fbl\xc3\xa9" ignored' \
	    "$WORK/a.log"
	check $? "hostile: the log escapes control and 8-bit bytes (\\xHH)" \
	    "$(logtail "$WORK/a.log")"
	! grep -q $'[\x01-\x08\x0b-\x1f\x7f-\xff]' "$WORK/a.log"
	check $? "hostile: no raw control or 8-bit byte in A's log" \
	    "$(grep -n $'[\x01-\x08\x0b-\x1f\x7f-\xff]' "$WORK/a.log" | head -n 3 | cat -A)"
}

test_idle_sessions() {
	python3 "$HERE/idle_sessions.py" 127.0.0.1 "$A_PORT" 200 \
	    >"$WORK/idle.out" 2>&1
	tally <"$WORK/idle.out"
	wait_message idle-neighbour@harness.test >/dev/null
	check $? "the message sent beside 200 idle sessions arrives" "$(logtail "$WORK/a.log")"
}

# ------------------------------------------------------------ log sinks

# syslog_server SOCKET OUT: a unix datagram server (a stand-in for
# /dev/log) writing each datagram as a line to OUT; ends 60 s after the
# last datagram at the latest.
syslog_server() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        f.write(d + b"\n")' "$1" "$2" &
	PID[syslog]=$!
	wait_until 10 test -S "$1"
}

# s_config EXTRA: an instance S delivering to a Maildir, logging as EXTRA
# says (no log-file).  Its policy has a 1024-bit key, which the module
# warns about at load: a module line at the module's level (warning).
s_config() {
	cat >"$WORK/s.conf" <<EOF
domain-key = "k,example.com,$WORK/k1024.pem"
domain "*" { dkim-sign = yes }
harness {
    module = "$MODULE"
    hostname = "s.harness.test"
    spool-directory = "$WORK/spool-s"
    maildir = "$WORK/maildir-s"
    listener in { address = "127.0.0.1:$S_PORT" }
$1
}
EOF
}

# The three sinks, each line in one only: syslog (the facility from
# log-facility, at the socket log-socket names), the journal (stderr with
# <N> when JOURNAL_STREAM is stderr), never stderr otherwise.
test_log_sinks() {
	local sock=$WORK/devlog out=$WORK/syslog.out pid rc
	: >"$out"
	install -m 0600 "$ROOT/tests/data/rsa1024.pem" "$WORK/k1024.pem"
	syslog_server "$sock" "$out" || { bad "syslog: the test's socket"; return; }
	s_config "    log-socket = \"$sock\"
    log-facility = local3"
	# JOURNAL_STREAM naming another stream (a parent's): not the journal.
	JOURNAL_STREAM=1:1 "$BIN" --config "$WORK/s.conf" >"$WORK/s.out" 2>&1 &
	PID[s]=$!
	pid=${PID[s]}
	wait_until 15 grep -q "running as s.harness.test" "$out"
	# local3 (19) * 8 + info (6) = 158
	grep -q "^<158>[A-Z][a-z][a-z] [ 1-3][0-9] [0-9:]\{8\} vdkim-harness\[$pid\]: vdkim-harness running as s.harness.test" "$out"
	check $? "syslog: facility local3, level info, ident and pid (<158>...)" "$out" "$WORK/s.out"
	# local3 * 8 + warning (4) = 156
	grep -q "^<156>.* vdkim-harness\[$pid\]: vdkim: .*keys under 2048 bits are weak" "$out"
	check $? "syslog: the module's warning at warning (<156>)" "$out"
	swaks_to "$S_PORT" "$WORK/swaks-s.out" --from alice@example.com \
	    --to bob@example.org --h-Message-ID "<s-1@harness.test>"
	wait_until 15 grep -q ": delivered <bob@example.org>" "$out"
	check $? "syslog: a delivery is logged there" "$out" "$WORK/swaks-s.out"
	stop s
	check $? "syslog: S exits 0 on SIGTERM" "$WORK/s.out"
	! grep -q "running as\|delivered" "$WORK/s.out"
	check $? "syslog: nothing of it on stderr (each line once)" "$WORK/s.out"
	grep -q "^<158>.*vdkim-harness\[$pid\]: stopped" "$out"
	check $? "syslog: the stop is logged" "$out"

	# The journal: stderr is the stream JOURNAL_STREAM names.
	: >"$WORK/s.err"
	s_config "    log-socket = \"$sock\""
	(
		JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/s.err")
		export JOURNAL_STREAM
		exec "$BIN" --config "$WORK/s.conf" 2>>"$WORK/s.err" >/dev/null
	) &
	PID[s]=$!
	wait_until 15 grep -q "running as" "$WORK/s.err"
	grep -q "^<6>vdkim-harness running as s.harness.test" "$WORK/s.err"
	check $? "journal: <6> prefixes on stderr" "$WORK/s.err"
	grep -q "^<4>vdkim: .*keys under 2048 bits are weak" "$WORK/s.err"
	check $? "journal: the module's warning at <4>" "$WORK/s.err"
	kill -HUP "${PID[s]}"
	wait_until 10 grep -q "^<6>module config reloaded" "$WORK/s.err"
	check $? "journal: the reload at <6>" "$WORK/s.err"
	stop s
	check $? "journal: S exits 0 on SIGTERM" "$WORK/s.err"
	[[ $(grep -c "running as" "$out") -eq 1 ]]
	check $? "journal: nothing of it to syslog (each line once)" "$out"
	! grep -qv "^<[0-7]>" "$WORK/s.err"
	check $? "journal: every stderr line has its priority" "$WORK/s.err"

	# A bad facility is a config error naming the line.
	s_config "    log-facility = kern"
	"$BIN" --config "$WORK/s.conf" --check >"$WORK/s.out" 2>&1
	rc=$?
	[[ $rc -eq 78 ]] && grep -q "s.conf:[0-9]*: log-facility = kern: expected mail" "$WORK/s.out"
	check $? "log-facility = kern: exit 78 (got $rc), FILE:LINE" "$WORK/s.out"
	kill "${PID[syslog]}" 2>/dev/null
	wait "${PID[syslog]}" 2>/dev/null
	unset "PID[syslog]"
}

# logrotate without copytruncate: the files are renamed, SIGHUP, and the
# next lines go to new files at the configured paths.
test_logrotate() {
	local id
	mv "$WORK/a.log" "$WORK/a.log.1"
	mv "$WORK/a.acct" "$WORK/a.acct.1"
	kill -HUP "${PID[a]}"
	wait_until 10 grep -q "module config reloaded" "$WORK/a.log"
	check $? "SIGHUP: a new log file at log-file's path" "$(logtail "$WORK/a.log.1")"
	send_and_find rotated "$A_PORT" rotated-1@harness.test || return
	id=$(queue_ids "$WORK/swaks-rotated.out")
	wait_until 10 eval 'accounting "$WORK/a.acct" "$id" | grep -q result=delivered'
	check $? "SIGHUP: the next accounting line goes to a new file" "$(ls -l "$WORK")"
	grep -q "$id: delivered" "$WORK/a.log" &&
	    ! grep -q "$id" "$WORK/a.log.1" "$WORK/a.acct.1"
	check $? "SIGHUP: nothing more written to the renamed files" "$(logtail "$WORK/a.log")"
}

# ------------------------------------------------------------ signals

test_reload() {
	local n
	cp "$WORK/a.conf" "$WORK/a.conf.orig"
	n=$(grep -c "module config reloaded" "$WORK/a.log")
	kill -HUP "${PID[a]}"
	wait_until 10 eval '[[ $(grep -c "module config reloaded" "$WORK/a.log") -gt $n ]]'
	check $? "SIGHUP: the module reloads its config" "$(logtail "$WORK/a.log")"
	sed -i 's/dkim-sign = no/dkim-sign = perhaps/' "$WORK/a.conf"
	kill -HUP "${PID[a]}"
	wait_until 10 grep -q "reload failed, the old one stays in force: .*a.conf:[0-9]*:" "$WORK/a.log"
	check $? "SIGHUP with a broken config: logged, the old config stays" "$(logtail "$WORK/a.log")"
	cp "$WORK/a.conf.orig" "$WORK/a.conf"
	reload_fifo key "$KEYS/s1.private"
	reload_fifo config "$WORK/a.conf"
	# The files are back: a reload takes them (and the key) again.
	n=$(grep -c "module config reloaded" "$WORK/a.log")
	kill -HUP "${PID[a]}"
	wait_until 10 eval '[[ $(grep -c "module config reloaded" "$WORK/a.log") -gt $n ]]'
	check $? "SIGHUP after the FIFOs are gone: the module reloads" "$(logtail "$WORK/a.log")"
	send_and_find after-reload "$A_PORT" after-reload@harness.test >/dev/null
}

# greeting_within SECONDS PORT: a new session gets its 220 that fast.
greeting_within() {
	python3 -c '
import socket, sys, time
t = time.time()
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5)
s.settimeout(5)
ok = s.recv(100).startswith(b"220") and time.time() - t < float(sys.argv[1])
sys.exit(0 if ok else 1)' "$1" "$2" 2>/dev/null
}

# reload_fifo WHAT PATH: SIGHUP with a FIFO where A's WHAT file was: the
# reload says so at once (never waits for a writer) and sessions are
# served meanwhile; then the file is put back.
reload_fifo() {
	local what=$1 path=$2 n
	n=$(grep -c "$path: the $what file is not a regular file" "$WORK/a.log")
	mv "$path" "$path.away" && mkfifo "$path"
	kill -HUP "${PID[a]}"
	sleep 0.3
	greeting_within 1 "$A_PORT"
	check $? "SIGHUP with a FIFO at the $what path: the greeting comes within 1 s"
	wait_until 10 eval '[[ $(grep -c "$path: the $what file is not a regular file" "$WORK/a.log") -gt $n ]]'
	check $? "SIGHUP with a FIFO at the $what path: logged as not a regular file" \
	    "$(logtail "$WORK/a.log")"
	rm -f "$path"
	mv "$path.away" "$path"
}

# reloads_done NAME: how many reloads NAME's log says ended well.
reloads_done() {
	grep -c "module config reloaded" "$WORK/$1.log"
}

# A reload that takes long (here: held inside its key loading by the
# gate, as a config of 100,000 keys or a slow disk would hold it) must not
# stop SMTP: new sessions are greeted, mail is taken and signed with the
# policy in force; a SIGHUP meanwhile is coalesced into one more reload;
# then the new policy signs at once.
test_slow_reload() {
	local gate=$WORK/gate seen=$WORK/gate.seen gated=$KEYS/s2-gated.private
	local preload=$OPEN_GATE asan n
	# An ASan program wants its runtime first among the preloaded.
	asan=$(ldd "$BIN" | awk '/libasan/ { print $3 }')
	[[ -z $asan ]] || preload="$asan:$OPEN_GATE"
	cp "$KEYS/s2.private" "$gated"
	start r "$R_PORT" LD_PRELOAD="$preload" OPEN_GATE_PATH="$gated" \
	    OPEN_GATE_FILE="$gate" OPEN_GATE_SEEN="$seen" || return
	send_and_find slow-before "$R_PORT" slow-before@harness.test && {
		verify "$FOUND" s1
		check $? "slow reload: before it, R signs with s1" "$WORK/verify.out"
	}

	r_conf "s2,example.com,$gated" >"$WORK/r.conf"
	touch "$gate"
	rm -f "$seen"
	n=$(reloads_done r)
	kill -HUP "${PID[r]}"
	wait_until 20 test -e "$seen"
	check $? "slow reload: the reload is held inside its key loading" \
	    "$(logtail "$WORK/r.log")"
	greeting_within 1 "$R_PORT"
	check $? "slow reload: meanwhile a new session gets its 220 within 1 s"
	send_and_find slow-during "$R_PORT" slow-during@harness.test && {
		verify "$FOUND" s1
		check $? "slow reload: meanwhile mail is taken and signed with the old policy (s1)" \
		    "$WORK/verify.out"
	}
	kill -HUP "${PID[r]}"
	wait_until 10 grep -q "SIGHUP: a reload is in progress; another one follows it" "$WORK/r.log"
	check $? "slow reload: a SIGHUP during it is taken for one more reload" \
	    "$(logtail "$WORK/r.log")"
	[[ $(reloads_done r) -eq $n ]]
	check $? "slow reload: it was still running all along" "$(logtail "$WORK/r.log")"

	rm -f "$gate"
	wait_until 30 eval '[[ $(reloads_done r) -ge $((n + 2)) ]]'
	check $? "slow reload: it ends, and the coalesced one runs after it" \
	    "$(logtail "$WORK/r.log")"
	send_and_find slow-after "$R_PORT" slow-after@harness.test && {
		verify "$FOUND" s2
		check $? "slow reload: then the new policy signs (s2)" "$WORK/verify.out"
	}

	# A stop during a reload waits for it, then exits 0.  (A new file
	# at the gated path: a reload must read it again.)
	cp --remove-destination "$KEYS/s1.private" "$gated"
	r_conf "s1,example.com,$gated" >"$WORK/r.conf"
	touch "$gate"
	rm -f "$seen"
	kill -HUP "${PID[r]}"
	wait_until 20 test -e "$seen"
	check $? "slow reload before a stop: held" "$(logtail "$WORK/r.log")"
	kill -TERM "${PID[r]}"
	wait_until 10 grep -q "waiting for the reload in progress to end" "$WORK/r.log"
	check $? "a stop during a reload says it waits for it" "$(logtail "$WORK/r.log")"
	rm -f "$gate"
	stop r
	check $? "SIGTERM during a reload: R exits 0 once it ended" "$(logtail "$WORK/r.log")"
}

test_stop() {
	local name
	for name in a q b; do
		stop $name
		check $? "SIGTERM: $name exits 0" "$(logtail "$WORK/$name.log")"
	done
	grep -q "stopped; 1 message(s) left queued" "$WORK/a.log"
	check $? "A stops with the deferred message still queued" "$(logtail "$WORK/a.log")"
}

# ------------------------------------------------------------ kill -9

accepted_count() {
	grep -c "^ACCEPTED" "$WORK/load.out" 2>/dev/null || true
}

# All ids ACCEPTED (any phase) are in L's Maildir.
all_delivered() {
	local want have
	want=$(grep "^ACCEPTED" "$WORK/load.out" | awk '{print $2}' | sort -u | wc -l)
	have=$(cat "$L_MAILDIR"/new/* 2>/dev/null | tr -d '\r' |
	    sed -n 's/^Message-ID: <load-\([0-9]*\)@harness.test>$/\1/p' | sort -u | wc -l)
	[[ $have -ge $want ]] && ! ls "$WORK/spool-k/queue" 2>/dev/null | grep -q "\.env$"
}

test_crash() {
	local load=$WORK/load.out accepted refused unknown dups
	: >"$load"
	start k "$K_PORT" || return
	# L is down: K cannot relay; everything stays queued.
	python3 "$HERE/load_client.py" 127.0.0.1 "$K_PORT" "$load" 0 $LOAD \
	    $LOAD_PARALLEL >"$WORK/load1.err" 2>&1 &
	PID[load]=$!
	wait_until 120 eval '[[ $(accepted_count) -ge $((LOAD * 3 / 10)) ]]'
	check $? "crash: K accepts messages while L is down" "$(logtail "$WORK/k.log")"
	kill -9 "${PID[k]}"
	wait "${PID[k]}" 2>/dev/null
	unset "PID[k]"
	ok "crash: kill -9 K after $(accepted_count) accepted"
	wait_until 120 eval '! alive ${PID[load]}'
	wait "${PID[load]}" 2>/dev/null
	unset "PID[load]"
	[[ $(wc -l <"$load") -eq $LOAD ]]
	check $? "crash: every submission has an outcome" "$WORK/load1.err"

	start k "$K_PORT" || return
	grep -q "queued message(s) to deliver" "$WORK/k.log"
	check $? "crash: K recovers its spool" "$(logtail "$WORK/k.log")"
	start l "$L_PORT" || return
	# The ones that certainly did not get in are sent again.
	grep "^REFUSED" "$load" | awk '{print $2}' >"$WORK/resend.ids"
	python3 "$HERE/load_client.py" 127.0.0.1 "$K_PORT" "$WORK/load2.out" \
	    0 0 $LOAD_PARALLEL "$WORK/resend.ids" >"$WORK/load2.err" 2>&1
	cat "$WORK/load2.out" >>"$load"
	accepted=$(grep "^ACCEPTED" "$load" | awk '{print $2}' | sort -u | wc -l)
	unknown=$(grep -c "^UNKNOWN" "$load")
	refused=$(grep -c "^REFUSED" "$WORK/load2.out")
	[[ $(wc -l <"$WORK/load2.out") -eq $(wc -l <"$WORK/resend.ids") &&
	   $refused -eq 0 ]]
	check $? "crash: the $(wc -l <"$WORK/resend.ids") refused are sent again and accepted ($refused refused)" \
	    "$WORK/load2.err"
	# Every message is in: acknowledged, or sent with its answer lost.
	[[ $accepted -gt 0 && $((accepted + unknown)) -eq $LOAD ]]
	check $? "crash: all $LOAD accounted for ($accepted accepted, $unknown unknown)"

	wait_until 300 all_delivered
	check $? "crash: K's queue drains into L" "$(logtail "$WORK/k.log")" "$(logtail "$WORK/l.log")"
	sleep 2 # a late duplicate would show now
	cat "$L_MAILDIR"/new/* | tr -d '\r' |
	    sed -n 's/^Message-ID: <load-\([0-9]*\)@harness.test>$/\1/p' |
	    sort >"$WORK/delivered.ids"
	grep "^ACCEPTED" "$load" | awk '{print $2}' | sort -u >"$WORK/accepted.ids"
	dups=$(uniq -d "$WORK/delivered.ids" | wc -l)
	[[ $dups -eq 0 ]]
	check $? "crash: no message delivered twice ($dups duplicates)" \
	    "$(uniq -d "$WORK/delivered.ids" | head -n 5)"
	comm -23 "$WORK/accepted.ids" <(sort -u "$WORK/delivered.ids") >"$WORK/lost.ids"
	[[ ! -s $WORK/lost.ids ]]
	check $? "crash: every message that got a 250 is delivered ($accepted accepted, $(wc -l <"$WORK/delivered.ids") delivered, $unknown unknown)" \
	    "lost: $(head -n 5 "$WORK/lost.ids" | tr '\n' ' ')"
	[[ $(sort -u "$WORK/delivered.ids" | wc -l) -le $((accepted + unknown)) ]]
	check $? "crash: nothing delivered that was not submitted"
	local f verified=0
	for f in $(ls "$L_MAILDIR"/new | head -n 5); do
		verify "$L_MAILDIR/new/$f" s1 && verified=$((verified + 1))
	done
	[[ $verified -eq 5 ]]
	check $? "crash: a sample of 5 delivered messages verifies ($verified)" \
	    "$WORK/verify.out"
	stop k
	check $? "crash: K exits 0 on SIGTERM" "$(logtail "$WORK/k.log")"
	# K signs with a software key through its workers' batches.
	grep -q "sign-batch 16: [1-9][0-9]* message(s) signed through the batch" "$WORK/k.log"
	check $? "crash: K's workers signed through their batches (sign-batch = 16)" \
	    "$(logtail "$WORK/k.log")"
	stop l
	check $? "crash: L exits 0 on SIGTERM" "$(logtail "$WORK/l.log")"
}

# Under SAN=1 the harness's stderr (NAME.out) gets the sanitizers' reports.
test_sanitizers() {
	local reports
	reports=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" \
	    "$WORK"/[a-z].out 2>/dev/null)
	[[ -z $reports ]]
	check $? "no sanitizer report from any harness" "$reports"
}

# ------------------------------------------------------------ run

test_configs
start b "$B_PORT" && start a "$A_PORT" && start q "$Q_PORT" || finish
test_messages
test_relay_refusal
test_require
test_protocol
test_hostile
test_idle_sessions
test_reload
test_logrotate
test_log_sinks
test_slow_reload
test_stop
test_crash
test_sanitizers
finish
