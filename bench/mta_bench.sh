#!/usr/bin/env bash
# bench/mta_bench.sh BUILD_DIR [--quick] - the MTA throughput benchmark.
#
# In one run, on loopback, with one SMTP sink (smtp_load sink) as the
# smarthost of every MTA, the same load (smtp_load send: N messages over 50
# concurrent sessions, pipelined) goes through:
#   (a) Exim 4.96 without signing,
#   (b) Exim 4.96 signing with its built-in DKIM (RSA-2048,
#       relaxed/relaxed),
#   (c) the harness (BUILD_DIR/vdkim-harness) with signing off (the module
#       loaded, its policy "dkim-sign no"),
#   (d) the harness signing with vdkim at pre-delivery (RSA-2048,
#       relaxed/relaxed),
#   (e) Exim 4.96 signing with vdkim through ${dlfunc} in its smtp
#       transport (pre-delivery; same key, same canonicalization),
#   (f) Exim 4.96 signing with vdkim through ${dlfunc} in its DATA ACL
#       (pre-queue),
# and prints for each the rate at which the MTA accepted the messages and
# the end-to-end rate (messages the sink received / time from the first
# connection to the sink's last message), then two ratios of end-to-end
# rates with their targets:
#   harness signed / harness unsigned   target >= 0.80
#   harness signed / Exim signed        target >= 3
#   Exim+vdkim / Exim built-in DKIM     target >= 1 (each stage)
# Each MTA also runs in a cpuacct control group of its own, so the CPU
# time it spent per measured message (all its processes: Exim's daemon,
# sessions and deliveries; the harness's threads) is printed too: on a
# shared, noisy machine the end-to-end rates swing with other load, the
# CPU per message much less, and 1000 / (CPU ms per message) is the rate
# one core sustains.  Both are printed; the Exim+vdkim ratios are given
# both ways.
# Each MTA first gets a short warm-up load that is not measured.  After
# each run the sink's last message is checked: signed runs must have a
# valid signature (vdkimctl verify with the generated key), unsigned ones
# none.
#
# It is a benchmark, not a test: it exits 0 whatever the numbers, and 1
# only when something could not run (a missing tool, an MTA that does not
# start, lost messages, a bad signature).  When BUILD_DIR/vdkim-harness
# does not exist, (c) and (d) say "harness not built" and the rest runs.
#
# The six runs make a round; a full run has 3 rounds (--quick: 1), and
# the table shows each row's median over the rounds and its spread
# ((max - min) / median).  Each ratio is the median of the ratios computed
# round by round, since runs of one round saw about the same machine load.
#
# --quick: 500 messages instead of 5000, one round.  Settings (environment):
#   MTA_BENCH_MESSAGES  messages per run (overrides --quick)
#   MTA_BENCH_ROUNDS    rounds of (a)..(f) (3; --quick: 1)
#   MTA_BENCH_SESSIONS  concurrent sessions (50)
#   MTA_BENCH_SIZE      body bytes of each message (2048)
#   MTA_BENCH_TIMEOUT   seconds an MTA gets to deliver one run (300)
#   MTA_BENCH_KEEP      set: keep the temp folder (configs, logs, spools)
#   BENCH_TMPDIR        where the spools, logs and keys go (default
#                       $TMPDIR or /tmp); both MTAs fsync their spools, so
#                       this is a disk benchmark too: /dev/shm takes the
#                       disk out.  It must be traversable by Debian-exim.
# Needs root (Exim's private config, see tests/lib/exim.sh), the Debian
# package exim4-daemon-heavy and iproute2 (ss).
set -euo pipefail

usage() {
	echo "usage: $0 BUILD_DIR [--quick]" >&2
	exit 2
}
[[ $# -ge 1 ]] || usage
build=$1
shift
quick=0
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	*) echo "$0: unknown argument: $a" >&2; usage ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd) || { echo "$0: no folder $1" >&2; exit 1; }
messages=${MTA_BENCH_MESSAGES:-$((quick ? 500 : 5000))}
sessions=${MTA_BENCH_SESSIONS:-50}
size=${MTA_BENCH_SIZE:-2048}
timeout_s=${MTA_BENCH_TIMEOUT:-300}
rounds=${MTA_BENCH_ROUNDS:-$((quick ? 1 : 3))}
warmup=$((messages / 10 < 200 ? messages / 10 : 200))
((warmup >= sessions)) || warmup=$sessions
domain=bench.example
selector=bench

# shellcheck source=tests/lib/exim.sh
source "$root/tests/lib/exim.sh"

die() {
	echo "mta_bench: $*" >&2
	exit 1
}

load=$build/smtp_load
vdkimctl=$build/vdkimctl
harness=$build/vdkim-harness
module=$build/vdkim.so
[[ -x $load ]] || die "$load is missing; run 'make $load' first"
[[ -x $vdkimctl ]] || die "$vdkimctl is missing; run 'make $vdkimctl' first"
[[ $(id -u) == 0 ]] || die "needs root (to run a private Exim)"
[[ -x $EXIM_BIN ]] || die "$EXIM_BIN is missing (apt-get install exim4-daemon-heavy)"
command -v ss >/dev/null || die "ss is missing (apt-get install iproute2)"

# ------------------------------------------------------------ cleanup

tmp=""
sink_pid=""
harness_pid=""
load_pid=""

stop_pid() { # PID SECONDS: TERM, wait, then KILL
	local pid=$1 t=$2 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < t * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [[ -n $load_pid ]]; then
		stop_pid "$load_pid" 5
		load_pid=""
	fi
	exim_stop || true
	if [[ -n $harness_pid ]]; then
		stop_pid "$harness_pid" 10
		harness_pid=""
	fi
	cg_remove
	if [[ -n $sink_pid ]]; then
		stop_pid "$sink_pid" 5
		sink_pid=""
	fi
	if [[ -n $tmp && -d $tmp ]]; then
		if [[ -n ${MTA_BENCH_KEEP-} ]]; then
			echo "mta_bench: kept $tmp" >&2
		else
			rm -rf "$tmp"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "mta_bench: interrupted" >&2; exit 130' INT TERM HUP

tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/mta_bench.XXXXXX")
chmod 0755 "$tmp" # Exim runs as Debian-exim and must reach its folder
# A copy of the module Exim (as Debian-exim) can reach: the build folder
# may be inside a checkout only root can enter.
if [[ -f $module ]]; then
	install -m 0755 "$module" "$tmp/vdkim.so"
	module=$tmp/vdkim.so
fi

# ------------------------------------------------------------ ports

# free_port: a port below the ephemeral range (32768-60999 here, where
# outgoing connections could take it) that nothing listens on or uses.
declare -A taken_ports=()
free_port() {
	local lo=20000 hi=32000 p i
	for ((i = 0; i < 200; i++)); do
		p=$((lo + RANDOM % (hi - lo)))
		[[ -z ${taken_ports[$p]-} ]] || continue
		if [[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]]; then
			taken_ports[$p]=1
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}
# Called in the main shell, so taken_ports keeps what it gave.
pick_port() { # VAR
	local p
	p=$(free_port) || exit 1
	taken_ports[$p]=1
	printf -v "$1" '%s' "$p"
}

wait_listen() { # PORT SECONDS
	local port=$1 deadline=$((SECONDS + $2))
	until [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]]; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# ------------------------------------------------------------ setup

mkdir -p "$tmp/keys"
"$vdkimctl" keygen --selector "$selector" --domain "$domain" \
	--dir "$tmp/keys" >/dev/null || die "vdkimctl keygen failed"
key=$tmp/keys/$selector.private
record=$tmp/keys/$selector.txt

pick_port sink_port
count_file=$tmp/sink.count
last_msg=$tmp/sink.last
"$load" sink --listen "127.0.0.1:$sink_port" --count-file "$count_file" \
	--save-last "$last_msg" --quiet 2>"$tmp/sink.err" &
sink_pid=$!
wait_listen "$sink_port" 10 || die "the sink did not start: $(cat "$tmp/sink.err")"


# ------------------------------------------------------------ CPU time

# A cpuacct group (cgroup v1, as on this kind of machine; cgroup v2's
# cpu.stat where that is what is mounted) per run; "" when neither is
# usable, and the CPU columns then say "-".
cg_dir=""
cg_kind=""
if [[ -w /sys/fs/cgroup/cpuacct ]]; then
	cg_kind=v1
	cg_dir=/sys/fs/cgroup/cpuacct/vdkim-mta-bench-$$
elif [[ -w /sys/fs/cgroup/cgroup.procs && -f /sys/fs/cgroup/cgroup.controllers ]]; then
	cg_kind=v2
	cg_dir=/sys/fs/cgroup/vdkim-mta-bench-$$
fi
if [[ -n $cg_dir ]] && ! mkdir -p "$cg_dir" 2>/dev/null; then
	cg_dir=""
fi

cg_join() { # PID: PID and its future children are counted
	[[ -n $cg_dir ]] || return 0
	echo "$1" >"$cg_dir/cgroup.procs" 2>/dev/null || true
}

cg_usage_ns() { # the group's CPU time so far, in ns
	local v
	if [[ $cg_kind == v1 ]]; then
		cat "$cg_dir/cpuacct.usage" 2>/dev/null || echo 0
	else
		v=$(awk '$1 == "usage_usec" { print $2 }' "$cg_dir/cpu.stat" 2>/dev/null)
		echo $((${v:-0} * 1000))
	fi
}

cg_remove() {
	[[ -n $cg_dir && -d $cg_dir ]] || return 0
	local i
	for ((i = 0; i < 50; i++)); do
		rmdir "$cg_dir" 2>/dev/null && return 0
		sleep 0.1
	done
}

# ------------------------------------------------------------ runs

# Per run ("ID.ROUND"): the rates and times smtp_load printed (read
# through "values", by name).
# shellcheck disable=SC2034
declare -A r_acc=() r_e2e=() r_time=() r_sig=() r_cpu=() note=()
failures=0
msg_bytes=""

fail() {
	echo "mta_bench: $*" >&2
	failures=$((failures + 1))
}

# kv KEY LINE: the value of KEY=value in LINE.
kv() {
	local k=$1 line=" $2 " v
	v=${line#* "$k"=}
	[[ $v != "$line" ]] || return 1
	echo "${v%% *}"
}

# send_load PORT MESSAGES: the load; sets $out (smtp_load's line).  In
# the background, so that a signal interrupts the wait at once.
send_load() {
	local port=$1 n=$2 rc=0
	timeout $((timeout_s + 60)) "$load" send --to "127.0.0.1:$port" \
		--sessions "$sessions" --messages "$n" --size "$size" \
		--pipelining --count-file "$count_file" \
		--timeout "$timeout_s" >"$tmp/send.out" 2>"$tmp/send.err" &
	load_pid=$!
	wait "$load_pid" || rc=$?
	load_pid=""
	out=$(cat "$tmp/send.out")
	if ((rc != 0)); then
		echo "mta_bench: smtp_load send exited $rc: $out" >&2
		head -5 "$tmp/send.err" >&2 || true
	fi
	return "$rc"
}

# check_signature RUN SIGNED: the sink's last message has a valid
# signature (SIGNED=1) or none (SIGNED=0).
check_signature() {
	local run=$1 want=$2 res
	if [[ ! -s $last_msg ]]; then
		fail "$run: the sink saved no message"
		return 1
	fi
	if ((want)); then
		res=$("$vdkimctl" verify --key \
		    "$selector._domainkey.$domain=$record" <"$last_msg" 2>&1) || true
		case $res in
		*"dkim=pass"*) ;;
		*) fail "$run: the last message does not verify: $res"; return 1 ;;
		esac
	elif grep -qi '^DKIM-Signature:' "$last_msg"; then
		fail "$run: the last message is signed, signing was off"
		return 1
	fi
}

# measure ID ROUND PORT SIGNED: warm-up, then the measured load.
measure() {
	local id=$1 round=$2 port=$3 want_signed=$4 run=$1.$2 got sig
	if ! send_load "$port" "$warmup"; then
		fail "$run: the warm-up failed"
		return 1
	fi
	local cpu0 cpu1
	cpu0=$(cg_usage_ns)
	if ! send_load "$port" "$messages"; then
		fail "$run: the load failed"
		return 1
	fi
	cpu1=$(cg_usage_ns)
	got=$(kv sink_received "$out")
	sig=$(kv sink_signed "$out")
	msg_bytes=$(kv msg_bytes "$out")
	if [[ $got != "$messages" ]]; then
		fail "$run: the sink received $got of $messages messages"
		return 1
	fi
	if ((want_signed)) && [[ $sig != "$got" ]]; then
		fail "$run: only $sig of $got messages were signed"
		return 1
	fi
	if ((!want_signed)) && [[ $sig != 0 ]]; then
		fail "$run: $sig messages were signed, signing was off"
		return 1
	fi
	check_signature "$run" "$want_signed" || return 1
	r_acc[$run]=$(kv rate "$out")
	r_e2e[$run]=$(kv e2e_rate "$out")
	r_time[$run]=$(kv e2e_elapsed "$out")
	if [[ -n $cg_dir ]]; then
		r_cpu[$run]=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$messages" \
		    'BEGIN { printf "%.3f", (b - a) / 1e6 / n }')
	fi
	# shellcheck disable=SC2034 # read through "values"
	r_sig[$run]=$sig
	printf '  %-4s %9s msg/s end-to-end in %7s s, %9s msg/s accepted, %s CPU ms/msg\n' \
		"$run" "${r_e2e[$run]}" "${r_time[$run]}" "${r_acc[$run]}" \
		"${r_cpu[$run]:--}"
}

# write_vdkim_config DIR: DIR/vdkim.conf, the policy of the Exim+vdkim
# runs: the same key (a copy the Exim user can read), relaxed/relaxed.
write_vdkim_config() {
	local dir=$1 user
	user=$(_exim_user) || die "cannot find the Exim user"
	install -d -m 0700 -o "$user" "$dir/vkeys"
	install -m 0600 -o "$user" "$key" "$dir/vkeys/$selector.private"
	cat >"$dir/vdkim.conf" <<EOF
# Generated by bench/mta_bench.sh.
domain-key = "$selector,$domain,$dir/vkeys/$selector.private"
domain "*" {
    dkim-sign = yes
    dkim-headers-canon = relaxed
    dkim-body-canon = relaxed
}
EOF
	chmod 0644 "$dir/vdkim.conf"
}

# run_exim ID ROUND SIGNER: SIGNER is none, builtin (Exim's own DKIM),
# predelivery or prequeue (vdkim through ${dlfunc}).
run_exim() {
	local id=$1 round=$2 signer=$3 port conf dir=$tmp/r$2/exim-$1 signed=1
	local -a dkim=()
	mkdir -p "$dir"
	case $signer in
	none) signed=0 ;;
	builtin)
		dkim=(--dkim-domain "$domain" --dkim-selector "$selector"
			--dkim-key "$key" --dkim-canon relaxed)
		;;
	*)
		if [[ ! -f $module ]]; then
			note[$id]="vdkim.so not built"
			return 0
		fi
		write_vdkim_config "$dir"
		dkim=(--vdkim "$signer" "$module" "$dir/vdkim.conf")
		;;
	esac
	if ! conf=$(exim_make_config "$dir" "$sink_port" "${dkim[@]}"); then
		fail "$id.$round: cannot make the Exim config"
		note[$id]="could not run"
		return 0
	fi
	pick_port port
	if ! exim_start "$conf" "$port"; then
		fail "$id.$round: Exim did not start"
		note[$id]="could not run"
		return 0
	fi
	cg_join "$EXIM_PID"
	if ! measure "$id" "$round" "$port" "$signed"; then
		exim_log_tail 10 >&2 || true
		note[$id]="failed"
	fi
	exim_stop || fail "$id.$round: Exim did not stop"
}

# write_harness_config FILE SIGNED PORT: the harness's settings and the
# module's policy, in one file (harness/README.md).
write_harness_config() {
	local file=$1 signed=$2 port=$3 dir
	dir=$(dirname "$file")
	mkdir -p "$dir/spool"
	cat >"$file" <<EOF
# Generated by bench/mta_bench.sh.
harness {
    module = "$module"
    hostname = "harness.bench.invalid"
    spool-directory = "$dir/spool"
    sign-at = pre-delivery
    listener bench {
        address = "127.0.0.1:$port"
        source = "bench"
    }
    smarthost = "127.0.0.1:$sink_port"
    log-file = "$dir/harness.log"
}

domain-key = "$selector,$domain,$key"
domain "*" {
    dkim-sign = $([[ $signed == 1 ]] && echo yes || echo no)
    dkim-headers-canon = relaxed
    dkim-body-canon = relaxed
}
EOF
}

run_harness() { # ID ROUND SIGNED
	local id=$1 round=$2 signed=$3 port dir=$tmp/r$2/harness-$1 conf
	if [[ ! -x $harness ]]; then
		note[$id]="harness not built"
		return 0
	fi
	mkdir -p "$dir"
	conf=$dir/vdkim.conf
	pick_port port
	write_harness_config "$conf" "$signed" "$port"
	if ! "$harness" --config "$conf" --check >"$dir/check.out" 2>&1; then
		fail "$id.$round: the harness refuses its config:"
		cat "$dir/check.out" >&2
		note[$id]="could not run"
		return 0
	fi
	"$harness" --config "$conf" </dev/null >"$dir/harness.out" 2>&1 &
	harness_pid=$!
	cg_join "$harness_pid"
	local deadline=$((SECONDS + 15))
	until [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]]; do
		if ! kill -0 "$harness_pid" 2>/dev/null || ((SECONDS >= deadline)); then
			fail "$id.$round: the harness did not start:"
			tail -n 5 "$dir/harness.out" "$dir/harness.log" >&2 2>/dev/null || true
			stop_pid "$harness_pid" 5
			harness_pid=""
			note[$id]="could not run"
			return 0
		fi
		sleep 0.05
	done
	if ! measure "$id" "$round" "$port" "$signed"; then
		tail -n 5 "$dir/harness.out" "$dir/harness.log" >&2 2>/dev/null || true
		note[$id]="failed"
	fi
	stop_pid "$harness_pid" 10
	harness_pid=""
}

fs=$(df -PT "$tmp" | awk 'NR == 2 { print $2 }')
echo "MTA throughput: $sessions sessions, $messages messages per run" \
	"(after $warmup unmeasured), pipelining, loopback, $rounds round(s)"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
	"spools on $fs ($tmp)"
echo "Exim: $("$EXIM_BIN" -C /dev/null -bV 2>/dev/null | head -n 1)"
if [[ -x $harness ]]; then
	echo "harness: $harness"
else
	echo "harness: $harness not built; (c) and (d) are skipped"
fi

for ((r = 1; r <= rounds; r++)); do
	run_exim a "$r" none
	run_exim b "$r" builtin
	run_harness c "$r" 0
	run_harness d "$r" 1
	run_exim e "$r" predelivery
	run_exim f "$r" prequeue
done
echo

# ------------------------------------------------------------ report

# median: the median of the numbers on stdin (of an even count, the mean
# of the middle two), printed with FORMAT.
median() {
	sort -g | awk -v f="$1" '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf f "\n", m
	}'
}

# values ARRAY ID: ARRAY's values for ID's rounds, one a line.
values() {
	local -n arr=$1
	local r
	for ((r = 1; r <= rounds; r++)); do
		if [[ -n ${arr[$2.$r]-} ]]; then
			echo "${arr[$2.$r]}"
		fi
	done
}

# spread ID: (max - min) / median of ID's end-to-end rates.
spread() {
	values r_e2e "$1" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR < 2) { print "-"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.0f%%\n", (m > 0) ? 100 * (v[NR] - v[1]) / m : 0
	}'
}

labels=(
	"(a) Exim, no signing"
	"(b) Exim, built-in DKIM"
	"(c) harness, signing off"
	"(d) harness, vdkim pre-delivery"
	"(e) Exim, vdkim pre-delivery"
	"(f) Exim, vdkim pre-queue"
)
ids=(a b c d e f)
echo "message: ${msg_bytes:-?} bytes; signing: RSA-2048 rsa-sha256," \
	"relaxed/relaxed; medians of $rounds round(s)"
printf '%-33s %13s %10s %11s %7s %7s %12s\n' "" "end-to-end/s" "elapsed s" \
	"accepted/s" "spread" "signed" "CPU ms/msg"
for i in "${!ids[@]}"; do
	id=${ids[$i]}
	if [[ -n $(values r_e2e "$id") ]]; then
		printf '%-33s %13s %10s %11s %7s %7s %12s\n' "${labels[$i]}" \
			"$(values r_e2e "$id" | median %.1f)" \
			"$(values r_time "$id" | median %.3f)" \
			"$(values r_acc "$id" | median %.1f)" \
			"$(spread "$id")" "$(values r_sig "$id" | sort -g | head -n 1)" \
			"$( (values r_cpu "$id" | median %.3f) || echo -)"
	else
		printf '%-33s %s\n' "${labels[$i]}" "${note[$id]:-not run}"
	fi
done
echo

# median_ratio NAME ARRAY TOP_ID BOTTOM_ID [TARGET]: the median over the
# rounds of ARRAY[TOP_ID.round] / ARRAY[BOTTOM_ID.round] (runs of one
# round saw about the same machine load), with TARGET's verdict.
median_ratio() {
	local name=$1 top=$3 bottom=$4 target=${5-} r q=""
	local -n arr=$2
	for ((r = 1; r <= rounds; r++)); do
		if [[ -n ${arr[$top.$r]-} && -n ${arr[$bottom.$r]-} ]]; then
			q+="${arr[$top.$r]} ${arr[$bottom.$r]}"$'\n'
		fi
	done
	if [[ -z $q ]]; then
		printf '%-34s %8s\n' "$name" "n/a"
		return
	fi
	printf '%s' "$q" | awk '{ printf "%.6f\n", ($2 > 0) ? $1 / $2 : 0 }' |
		sort -g | awk -v t="$target" -v name="$name" '
		{ v[NR] = $1 }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (t == "")
				printf "%-34s %8.2f\n", name, m
			else
				printf "%-34s %8.2f   target >= %-4s  %s\n", name, m, t,
				    (m >= t + 0) ? "PASS" : "BELOW"
		}'
}
# ratio NAME NUM_ID DEN_ID [TARGET]: NUM's end-to-end rate / DEN's.
ratio() {
	median_ratio "$1" r_e2e "$2" "$3" "${4-}"
}
# cpu_ratio NAME A B [TARGET]: B's CPU per message / A's: how many times
# B's per-core rate A's is.
cpu_ratio() {
	median_ratio "$1" r_cpu "$3" "$2" "${4-}"
}
echo "ratios of end-to-end rates:"
ratio "harness signed / harness unsigned" d c 0.80
ratio "harness signed / Exim signed" d b 3
ratio "Exim+vdkim pre-delivery / built-in" e b 1
ratio "Exim+vdkim pre-queue / built-in" f b 1
ratio "Exim signed / Exim unsigned" b a
ratio "harness unsigned / Exim unsigned" c a

echo
echo "ratios of CPU time per message (built-in's / vdkim's: above 1, vdkim costs less):"
cpu_ratio "Exim+vdkim pre-delivery / built-in" e b 1
cpu_ratio "Exim+vdkim pre-queue / built-in" f b 1
cpu_ratio "Exim built-in / Exim unsigned" b a
cpu_ratio "Exim+vdkim pre-delivery / unsigned" e a

if ((failures > 0)); then
	echo
	echo "mta_bench: $failures problem(s), see above" >&2
	exit 1
fi
exit 0
