#!/usr/bin/env bash
# bench/milter_bench.sh BUILD_DIR [--quick] - Postfix + vdkim-milter
# against Postfix + OpenDKIM 2.11 (Debian's opendkim), in one run.
#
# One private Postfix 3.7 (tests/lib/postfix.sh: Debian's package
# unpacked, never installed; smtpd_milters = inet:127.0.0.1:MILTER_PORT,
# milter_default_action = tempfail) relays to one SMTP sink (smtp_load
# sink).  The milter on MILTER_PORT is, in turn:
#   vdkim     build/vdkim-milter with build/vdkim.so
#   opendkim  /usr/sbin/opendkim, run here in the foreground (-f) with a
#             config of its own (never the system's, never as a service)
# both signing every message with the same RSA-2048 key, relaxed/relaxed,
# rsa-sha256, d=bench.example.  Each gets the same load (smtp_load send:
# N small messages over 50 concurrent sessions) after an unmeasured
# warm-up, and the table shows, per milter, the end-to-end rate (messages
# the sink received / time from the first connection to the sink's last
# message) and the signer's CPU per message: utime + stime of the milter
# process (all its threads, /proc/PID/stat) over the measured load,
# divided by the messages.  Then the ratios vdkim / OpenDKIM, computed
# round by round and given as their median:
#   CPU per message   target <= 0.5
#   end-to-end rate   target >= 1
# Every message of a measured load must reach the sink signed, and the
# last one must verify (vdkimctl verify with the key's record), or the
# run counts as failed.  The rounds alternate the order of the milters.
#
# It is a benchmark, not a test: exit 0 whatever the numbers, 1 when
# something could not run.  --quick: 300 messages, one round.  Settings:
#   MILTER_BENCH_MESSAGES  messages per measured load (2000)
#   MILTER_BENCH_ROUNDS    rounds (3)
#   MILTER_BENCH_SESSIONS  concurrent sessions (50)
#   MILTER_BENCH_SIZE      body bytes per message (1024)
#   MILTER_BENCH_KEEP      set: keep the work folder
# Needs root (Postfix runs as root, from the work folder), opendkim
# (scripts/deps.sh), apt (to download Postfix once, cached in
# BUILD/cache).
set -uo pipefail
export LC_ALL=C

usage() {
	echo "usage: $0 BUILD_DIR [--quick]" >&2
	exit 2
}
[[ $# -ge 1 ]] || usage
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) || usage
quick=0
[[ ${2:-} == --quick ]] && quick=1
messages=${MILTER_BENCH_MESSAGES:-$((quick ? 300 : 2000))}
rounds=${MILTER_BENCH_ROUNDS:-$((quick ? 1 : 3))}
sessions=${MILTER_BENCH_SESSIONS:-50}
size=${MILTER_BENCH_SIZE:-1024}
warmup=$((sessions * 2))
domain=bench.example
selector=bench
tck=$(getconf CLK_TCK)

die() {
	echo "milter_bench: $*" >&2
	exit 1
}
load=$build/smtp_load
for f in "$load" "$build/vdkim-milter" "$build/vdkim.so" "$build/vdkimctl"; do
	[[ -e $f ]] || die "$f is missing (make all)"
done
[[ $(id -u) == 0 ]] || die "needs root (a private Postfix)"
[[ -x /usr/sbin/opendkim ]] || die "/usr/sbin/opendkim is missing (make deps)"

# shellcheck source=../tests/lib/postfix.sh
. "$root/tests/lib/postfix.sh"

tmp=""
odir=""
sink_pid=""
milter_pid=""
stop_pid() { # PID: TERM, 10 s, KILL
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
cleanup() {
	[[ -z $milter_pid ]] || stop_pid "$milter_pid"
	[[ -z ${CONF:-} ]] || postfix_cmd stop >/dev/null 2>&1
	[[ -z $sink_pid ]] || stop_pid "$sink_pid"
	[[ -z $odir ]] || rm -rf "$odir"
	if [[ -n $tmp && -z ${MILTER_BENCH_KEEP:-} ]]; then
		rm -rf "$tmp"
	elif [[ -n $tmp ]]; then
		echo "milter_bench: kept $tmp" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Postfix's daemons run as postfix and must reach the folder.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/milter_bench.XXXXXX") || die "mktemp"
chmod 0755 "$tmp"

free_port() { # below the ephemeral range, unused
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12000))
		[[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] &&
		    [[ " ${used_ports:-} " != *" $p "* ]] && { echo "$p"; return; }
	done
	die "no free port"
}
wait_listen() { # PORT
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]] && return 0
		sleep 0.05
	done
	return 1
}
sink_port=$(free_port); used_ports="$sink_port"
milter_port=$(free_port); used_ports+=" $milter_port"
smtp_port=$(free_port); used_ports+=" $smtp_port"
port_b=$(free_port); used_ports+=" $port_b"
port_c=$(free_port)

# ------------------------------------------------------------ setup

"$build/vdkimctl" keygen --selector "$selector" --domain "$domain" \
    --dir "$tmp" >/dev/null || die "vdkimctl keygen"
key=$tmp/$selector.private
cat >"$tmp/vdkim.conf" <<EOF
# bench/milter_bench.sh
domain-key = "$selector,$domain,$key"
domain "*" {
    dkim-sign = yes
    dkim-algorithm = rsa-sha256
    dkim-headers-canon = relaxed
    dkim-body-canon = relaxed
}
milter {
    module = "$build/vdkim.so"
    listen = "inet:$milter_port@127.0.0.1"
    log-file = "$tmp/vdkim-milter.log"
}
EOF
# OpenDKIM's own: same key, same canonicalization; "Mode s" signs mail
# from InternalHosts (127.0.0.1 by default: Postfix's clients here).
# OpenDKIM refuses a config or key with a folder above it that others may
# write (/tmp): both go to a root-only folder under /run.
odir=$(mktemp -d /run/milter_bench.XXXXXX) || die "mktemp under /run"
install -m 0600 "$key" "$odir/key.pem" || die "copy the key for OpenDKIM"
cat >"$odir/opendkim.conf" <<EOF
# bench/milter_bench.sh (never the system's /etc/opendkim.conf)
Mode                    s
Domain                  $domain
Selector                $selector
KeyFile                 $odir/key.pem
Canonicalization        relaxed/relaxed
SignatureAlgorithm      rsa-sha256
Socket                  inet:$milter_port@127.0.0.1
Syslog                  no
PidFile                 $odir/opendkim.pid
EOF

count_file=$tmp/sink.count
last_msg=$tmp/sink.last
"$load" sink --listen "127.0.0.1:$sink_port" --count-file "$count_file" \
    --save-last "$last_msg" --quiet 2>"$tmp/sink.err" &
sink_pid=$!
wait_listen "$sink_port" || die "the sink did not start: $(cat "$tmp/sink.err")"

# tests/lib/postfix.sh's folders: the package, its config, its work.
PF=$tmp/postfix/root
PFW=$tmp/postfix
postfix_unpack "$build/cache" "$PF" || die "unpack Postfix"
CONF=$tmp/postfix/etc
postfix_start "$root/tests/milter/main.cf.in" "$root/tests/milter/master.cf.in" \
    -e "s|@SINK_PORT@|$sink_port|g" -e "s|@MILTER_PORT@|$milter_port|g" \
    -e "s|@PORT_A@|$smtp_port|g" -e "s|@PORT_B@|$port_b|g" -e "s|@PORT_C@|$port_c|g" ||
    die "the private Postfix does not start: $POSTFIX_OUT"
wait_listen "$smtp_port" || die "Postfix's smtpd does not listen"

# ------------------------------------------------------------ runs

start_milter() { # NAME
	case $1 in
	vdkim)
		"$build/vdkim-milter" --config "$tmp/vdkim.conf" \
		    2>>"$tmp/vdkim-milter.err" &
		;;
	opendkim)
		/usr/sbin/opendkim -f -x "$odir/opendkim.conf" \
		    2>>"$tmp/opendkim.err" &
		;;
	esac
	milter_pid=$!
	wait_listen "$milter_port" || die "$1 does not listen on $milter_port"
}

cpu_ticks() { # PID: utime + stime (fields 14, 15 after the command name)
	local stat
	stat=$(cat "/proc/$1/stat") || return 1
	stat=${stat##*) }
	awk '{ print $12 + $13 }' <<<"$stat"
}

kv() { # KEY LINE
	local line=" $2 " v
	v=${line#* "$1"=}
	[[ $v != "$line" ]] || return 1
	echo "${v%% *}"
}

send_load() { # N: sets out
	out=$(timeout 900 "$load" send --to "127.0.0.1:$smtp_port" \
	    --sessions "$sessions" --messages "$1" --size "$size" \
	    --pipelining --count-file "$count_file" --timeout 600 \
	    2>"$tmp/send.err")
}

declare -A e2e=() cpu=()
failures=0
run() { # NAME ROUND
	local name=$1 r=$2 c0 c1 signed
	start_milter "$name"
	if ! send_load "$warmup"; then
		echo "milter_bench: $name warm-up failed: $out $(head -3 "$tmp/send.err")" >&2
		failures=$((failures + 1))
		stop_pid "$milter_pid"; milter_pid=""
		return
	fi
	c0=$(cpu_ticks "$milter_pid")
	send_load "$messages"
	local rc=$?
	c1=$(cpu_ticks "$milter_pid")
	stop_pid "$milter_pid"
	milter_pid=""
	signed=$(kv sink_signed "$out")
	if ((rc != 0)) || [[ $signed != "$messages" ]]; then
		echo "milter_bench: $name round $r: $out (signed: ${signed:-?} of $messages) $(head -3 "$tmp/send.err")" >&2
		failures=$((failures + 1))
		return
	fi
	if ! "$build/vdkimctl" verify --key "$selector._domainkey.$domain=$tmp/$selector.txt" \
	    <"$last_msg" 2>&1 | grep -q "dkim=pass"; then
		echo "milter_bench: $name round $r: the last message does not verify" >&2
		failures=$((failures + 1))
		return
	fi
	e2e[$name.$r]=$(kv e2e_rate "$out")
	cpu[$name.$r]=$(awk -v t=$((c1 - c0)) -v hz="$tck" -v n="$messages" \
	    'BEGIN { printf "%.3f", t * 1000 / hz / n }')
	printf '  round %d  %-9s %8.1f msg/s end to end  %7.3f ms CPU/msg\n' \
	    "$r" "$name" "${e2e[$name.$r]}" "${cpu[$name.$r]}"
}

echo "milter_bench: Postfix $(postfix_version)," \
    "$messages messages x $rounds rounds, $sessions sessions, $size-byte bodies," \
    "vdkim-milter $("$build/vdkim-milter" --version | awk '{print $3}') vs" \
    "OpenDKIM $(dpkg-query -W -f '${Version}' opendkim)"
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then order="vdkim opendkim"; else order="opendkim vdkim"; fi
	for m in $order; do
		run "$m" "$r"
	done
done

# median VALUES...
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() { # (max - min) / median, in %
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR < 2) { print "-"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.0f%%", (v[NR] - v[1]) * 100 / m }'
}
col() { # ARRAY NAME: the values of NAME's rounds
	local -n a=$1
	local k
	for k in "${!a[@]}"; do
		[[ $k == "$2".* ]] && echo "${a[$k]}"
	done
}

echo
printf '%-10s %14s %8s %16s %8s\n' milter "msg/s e2e" spread "CPU ms/msg" spread
for m in vdkim opendkim; do
	mapfile -t ev < <(col e2e "$m")
	mapfile -t cv < <(col cpu "$m")
	printf '%-10s %14s %8s %16s %8s\n' "$m" "$(median "${ev[@]}")" \
	    "$(spread "${ev[@]}")" "$(median "${cv[@]}")" "$(spread "${cv[@]}")"
done
cr=() er=()
for ((r = 1; r <= rounds; r++)); do
	[[ -n ${cpu[vdkim.$r]:-} && -n ${cpu[opendkim.$r]:-} ]] || continue
	cr+=("$(awk -v a="${cpu[vdkim.$r]}" -v b="${cpu[opendkim.$r]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
	er+=("$(awk -v a="${e2e[vdkim.$r]}" -v b="${e2e[opendkim.$r]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
done
echo
echo "vdkim / OpenDKIM, median of the rounds' ratios (the machine may be shared: compare within a round):"
printf '  CPU per message   %s   (target <= 0.5)\n' "$(median "${cr[@]}")"
printf '  end-to-end rate   %s   (target >= 1)\n' "$(median "${er[@]}")"
((failures == 0)) || die "$failures run(s) failed"
