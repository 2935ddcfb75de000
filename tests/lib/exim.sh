# shellcheck shell=bash
# tests/lib/exim.sh - a private Exim 4.96 (Debian's exim4-daemon-heavy) on
# a loopback port, with its own configuration, spool and logs in a folder
# of the caller's, for benchmarks and tests.  It never touches the
# system's Exim: not its configuration (/etc/exim4), spool
# (/var/spool/exim4), logs (/var/log/exim4), daemon or port 25.
#
# Source this file from bash, then:
#
#   exim_make_config DIR SINK_PORT [OPTIONS]
#         writes DIR/exim.conf (and makes DIR/spool, DIR/log) for an Exim
#         that accepts mail from 127.0.0.1 and relays all of it to the
#         smarthost 127.0.0.1:SINK_PORT, delivering each message as soon
#         as it is accepted.  Prints the config's path.  OPTIONS:
#           --dkim-domain D --dkim-selector S --dkim-key FILE
#                 sign every message in the smtp transport with Exim's
#                 built-in DKIM signer (d=D, s=S, rsa-sha256).  FILE is a
#                 PEM private key (PKCS#8 or PKCS#1, e.g. from
#                 "vdkimctl keygen --selector S --domain D --dir DIR");
#                 it is copied to DIR/keys/ for the Exim user to read.
#           --dkim-canon C        relaxed (default) or simple, for header
#                                 and body alike (Exim's dkim_canon)
#           --headers-add STRING  an expansion for the transport's
#                                 headers_add, verbatim
#           --vdkim STAGE SO CONF
#                 sign with vdkim through ${dlfunc} (api/exim_dlfunc.c),
#                 virtual MTA "default": STAGE "prequeue" (DATA ACL
#                 add_header) or "predelivery" (transport headers_add);
#                 the daemon loads CONF once (smtp_accept_max_per_host),
#                 as conf-examples/exim/ does.  CONF and its keys must be
#                 readable by the Exim user.
#         EXIM_HEADERS_ADD, when set, is the default of --headers-add.
#   exim_start CONF PORT [EXIM_ARG...]
#         starts "exim4 -C CONF -bdf -q<interval> -oX PORT [EXIM_ARG...]"
#         (EXIM_ARG e.g. -DNAME=VALUE macros) and waits, at most
#         EXIM_START_TIMEOUT seconds (default 15), until it answers 220 on
#         127.0.0.1:PORT.  Several Exims may run at once, one per CONF;
#         the last one's pid is in $EXIM_PID, its folder in $EXIM_DIR.
#   exim_stop [CONF]
#         stops the Exim on CONF (default: every Exim started here) and
#         every process it started (found by the config path in their
#         command lines, killed by pid), waiting at most
#         EXIM_STOP_TIMEOUT seconds (default 10) before SIGKILL.
#         Idempotent; safe to call from an EXIT trap.
#   exim_log_tail [N [DIR]]
#         the last N (default 20) lines of the main and panic logs in DIR
#         (default $EXIM_DIR, the last Exim started), for error messages.
#
# Every function returns non-zero with a message on stderr on failure and
# works under "set -euo pipefail".  Call exim_start and exim_stop from the
# main shell (not from $(...)): $EXIM_PID lives there.  The caller owns
# DIR and removes it; this file installs no trap (call exim_stop from
# yours).
#
# Settings: EXIM_BIN (default /usr/sbin/exim4), EXIM_QUEUE_INTERVAL (the
# daemon's -q, default 10s), EXIM_START_TIMEOUT, EXIM_STOP_TIMEOUT.
#
# What Debian's build allows (exim4 -d -bV; Exim 4.96-15+deb12u10):
#
# - -C FILE: Debian builds with TRUSTED_CONFIG_LIST=/etc/exim4/trusted_configs
#   (absent by default) and without ALT_CONFIG_PREFIX, so any path is
#   accepted; the file must be owned by root (or the Exim user) and not
#   group/world-writable.  A config not listed there is "untrusted": even
#   when root runs "exim4 -C FILE", Exim gives up root and runs as the Exim
#   user (Debian-exim), logging "exim user lost privilege for using -C
#   option" to the main and panic logs (once per process when a process
#   re-executes Exim, e.g. one "exim4 -Mc" per delivery).  Listing our
#   file in /etc/exim4/trusted_configs would change the system's Exim, and
#   bind-mounting a private /etc/exim4 in a mount namespace works but buys
#   nothing here, so this file runs Exim untrusted, as Debian-exim, and
#   designs the config for that:
#     * the daemon listens on an unprivileged loopback port (-oX PORT, and
#       local_interfaces = 127.0.0.1), so it needs no root to bind;
#     * deliver_drop_privilege = true: deliveries run as the Exim user
#       without re-executing /usr/sbin/exim4.  Without it every accepted
#       message costs a fork+exec of the (large, ~40 libraries) heavy
#       binary plus a panic-log line, and on 2 CPUs throughput halved;
#     * DIR and its parents must be traversable by Debian-exim, and
#       DIR/spool and DIR/log writable by it (exim_make_config chowns them
#       and checks with runuser);
#     * the DKIM key must be readable by Debian-exim (the smtp transport
#       runs as that user): exim_make_config copies it, mode 0600, owned
#       by Debian-exim.
# - -D macros: allowed for root (WHITELIST_D_MACROS=OUTGOING only matters
#   to other callers); "exim4 -C F -DNAME=VALUE" works.
# - Expand_dlfunc and DKIM are compiled in (exim4 -bV "Support for:"), so
#   ${dlfunc{...}} can be used in the config once a shim exists.
# - "-bdf" keeps the daemon in the foreground (no fork to the
#   background), so $! is its pid; the pid file goes to DIR/exim.pid
#   (pid_file_path) all the same.
# - A port inside the kernel's ephemeral range (32768-60999) can be taken
#   by an outgoing connection's TIME-WAIT; Exim then logs "socket bind()
#   ... Address already in use: waiting 30s before trying again".
#   exim_start stops at once on that line: pick ports below 32768.
# - Installing exim4-daemon-heavy may start the system daemon on port 25
#   (here policy-rc.d stopped it); nothing here uses or stops it.
#
# Throughput settings of the generated config (queue_only = false): every
# message is delivered at once by a process forked from the one that
# received it.  smtp_accept_queue_per_connection = 0 (the default, 10,
# queues every message after the 10th of a session: deliveries would wait
# for a queue run); no queue_only_load (never switch to queueing under
# load); smtp_accept_max = 500 and smtp_connect_backlog = 256 (defaults 20
# and 20: 50 sessions would queue in the kernel); smtp_accept_max_per_
# connection = 100000; remote_max_parallel = 1 (one recipient per message:
# nothing to parallelise inside a message).  A queue runner every
# EXIM_QUEUE_INTERVAL is only a safety net for deferred messages (retry
# rule: every 2 s for an hour).  No host lookups, ident or TLS.
# Exim's fastest mode for bulk mail (queue_only with two-stage queue runs
# reusing one connection for many messages) is deliberately not used.

EXIM_BIN=${EXIM_BIN:-/usr/sbin/exim4}
EXIM_QUEUE_INTERVAL=${EXIM_QUEUE_INTERVAL:-10s}
EXIM_START_TIMEOUT=${EXIM_START_TIMEOUT:-15}
EXIM_STOP_TIMEOUT=${EXIM_STOP_TIMEOUT:-10}
EXIM_HEADERS_ADD=${EXIM_HEADERS_ADD:-}
EXIM_PID=""
EXIM_DIR=""
declare -gA _exim_pids=() # CONF -> daemon pid

_exim_err() {
	echo "exim.sh: $*" >&2
}

# _exim_user: the user the Exim binary runs as (exim_user), from the
# compiled-in default (an empty config keeps it).
_exim_user() {
	local line
	line=$("$EXIM_BIN" -C /dev/null -bP exim_user 2>/dev/null) || return 1
	line=${line#exim_user = }
	[[ -n $line ]] || return 1
	echo "$line"
}

exim_make_config() {
	if [[ $# -lt 2 ]]; then
		_exim_err "usage: exim_make_config DIR SINK_PORT [OPTIONS]"
		return 2
	fi
	local dir=$1 sink_port=$2
	shift 2
	local dkim_domain="" dkim_selector="" dkim_key="" dkim_canon=relaxed
	local headers_add=$EXIM_HEADERS_ADD
	local vdkim_stage="" vdkim_so="" vdkim_conf=""
	while [[ $# -gt 0 ]]; do
		case $1 in
		--vdkim)
			if [[ $# -lt 4 ]]; then
				_exim_err "exim_make_config: --vdkim STAGE SO CONF"
				return 2
			fi
			vdkim_stage=$2 vdkim_so=$3 vdkim_conf=$4
			shift 4
			;;
		--dkim-domain) dkim_domain=${2-}; shift 2 ;;
		--dkim-selector) dkim_selector=${2-}; shift 2 ;;
		--dkim-key) dkim_key=${2-}; shift 2 ;;
		--dkim-canon) dkim_canon=${2-}; shift 2 ;;
		--headers-add) headers_add=${2-}; shift 2 ;;
		*) _exim_err "exim_make_config: unknown option $1"; return 2 ;;
		esac
	done
	if [[ ! -x $EXIM_BIN ]]; then
		_exim_err "$EXIM_BIN is missing (apt-get install exim4-daemon-heavy)"
		return 1
	fi
	if [[ ! $sink_port =~ ^[0-9]+$ ]]; then
		_exim_err "exim_make_config: bad port '$sink_port'"
		return 2
	fi
	if [[ -n $dkim_domain$dkim_selector$dkim_key ]] &&
	    [[ -z $dkim_domain || -z $dkim_selector || -z $dkim_key ]]; then
		_exim_err "exim_make_config: --dkim-domain, --dkim-selector" \
		    "and --dkim-key go together"
		return 2
	fi
	case $dkim_canon in
	relaxed|simple) ;;
	*) _exim_err "exim_make_config: --dkim-canon relaxed|simple"; return 2 ;;
	esac
	local user
	if ! user=$(_exim_user); then
		_exim_err "cannot ask $EXIM_BIN for its exim_user"
		return 1
	fi
	dir=$(cd "$dir" && pwd) || { _exim_err "no folder $1"; return 1; }
	mkdir -p "$dir/spool" "$dir/log" || return 1
	chmod 0755 "$dir" || return 1
	chown "$user:" "$dir/spool" "$dir/log" || return 1
	if ! runuser -u "$user" -- test -w "$dir/spool" -a -w "$dir/log"; then
		_exim_err "$user cannot write $dir/spool and $dir/log (a parent" \
		    "folder of $dir is not traversable by it?)"
		return 1
	fi

	local dkim_lines="" key_copy
	if [[ -n $dkim_key ]]; then
		mkdir -p "$dir/keys" || return 1
		key_copy=$dir/keys/$dkim_selector.$dkim_domain.pem
		install -m 0600 -o "$user" -g root "$dkim_key" "$key_copy" ||
			return 1
		if ! runuser -u "$user" -- test -r "$key_copy"; then
			_exim_err "$user cannot read $key_copy"
			return 1
		fi
		dkim_lines="  dkim_domain = $dkim_domain
  dkim_selector = $dkim_selector
  dkim_private_key = $key_copy
  dkim_canon = $dkim_canon
  dkim_hash = sha256"
	fi
	local acl_main="" acl_vdkim=""
	if [[ -n $vdkim_stage ]]; then
		local hook="\${dlfunc{$vdkim_so}{vdkim_exim_$vdkim_stage}{$vdkim_conf}{default}}"
		acl_main="smtp_accept_max_per_host = \${dlfunc{$vdkim_so}{vdkim_exim_load}{$vdkim_conf}}500"
		case $vdkim_stage in
		prequeue)
			acl_main+=$'\n'"acl_smtp_data = acl_data"
			acl_vdkim+="
acl_data:
  warn  add_header = $hook
  accept
"
			;;
		predelivery) headers_add=$hook ;;
		*) _exim_err "exim_make_config: --vdkim prequeue|predelivery"; return 2 ;;
		esac
	fi
	local headers_line=""
	if [[ -n $headers_add ]]; then
		headers_line="  headers_add = $headers_add"
	fi

	local conf=$dir/exim.conf
	cat >"$conf" <<EOF
# Generated by tests/lib/exim.sh: a private Exim relaying everything from
# 127.0.0.1 to 127.0.0.1:$sink_port, delivering at once.
primary_hostname = exim.bench.invalid
qualify_domain = bench.invalid
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
pid_file_path = $dir/exim.pid
# The port comes from "-oX PORT" (exim_start).
local_interfaces = 127.0.0.1
keep_environment =
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =

# Deliver each message at once, from the receiving process, and keep
# doing so however many messages a session sends or the machine's load.
queue_only = false
smtp_accept_queue_per_connection = 0
smtp_accept_max = 500
smtp_connect_backlog = 256
smtp_accept_max_per_connection = 100000
remote_max_parallel = 1
# Deliver as the Exim user without re-executing exim (see exim.sh).
deliver_drop_privilege = true

acl_smtp_rcpt = acl_rcpt
$acl_main

begin acl

$acl_vdkim
acl_rcpt:
  accept  hosts = 127.0.0.1
  deny    message = relay not permitted

begin routers

smarthost:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp
  no_more

begin transports

remote_smtp:
  driver = smtp
  port = $sink_port
  allow_localhost
  hosts_avoid_tls = *
$dkim_lines
$headers_line

begin retry

*  *  F,1h,2s
EOF
	chmod 0644 "$conf" || return 1
	local out
	if ! out=$("$EXIM_BIN" -C "$conf" -bV 2>&1); then
		_exim_err "$conf does not parse:"
		echo "$out" >&2
		return 1
	fi
	echo "$conf"
}

# _exim_procs CONF: the pids of the processes running Exim on CONF (the
# daemon, its children and the deliveries they forked), by the
# "-C CONF" in their command lines.
_exim_procs() {
	local conf=$1 f pid i
	local -a args
	for f in /proc/[0-9]*/cmdline; do
		{ mapfile -d '' -t args <"$f"; } 2>/dev/null || continue
		for ((i = 0; i + 1 < ${#args[@]}; i++)); do
			if [[ ${args[i]} == -C && ${args[i + 1]} == "$conf" ]]; then
				pid=${f#/proc/}
				echo "${pid%/cmdline}"
				break
			fi
		done
	done
}

# _exim_greets PORT: one SMTP greeting from 127.0.0.1:PORT, then QUIT.
_exim_greets() {
	local port=$1
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 3 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		IFS= read -r -t 2 line <&3 || exit 1
		printf "QUIT\r\n" >&3
		IFS= read -r -t 2 _ <&3
		[[ $line == 220* ]]' _ "$port" 2>/dev/null
}

exim_start() {
	if [[ $# -lt 2 ]]; then
		_exim_err "usage: exim_start CONF PORT [EXIM_ARG...]"
		return 2
	fi
	local conf=$1 port=$2
	shift 2
	if [[ ! -f $conf ]]; then
		_exim_err "no config $conf"
		return 1
	fi
	conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")
	if [[ -n ${_exim_pids[$conf]-} ]]; then
		_exim_err "an Exim already runs on $conf (pid ${_exim_pids[$conf]})"
		return 1
	fi
	if [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]]; then
		_exim_err "port $port is already in use"
		return 1
	fi
	EXIM_DIR=$(dirname "$conf")
	: >"$EXIM_DIR/daemon.out" || return 1
	"$EXIM_BIN" -C "$conf" -bdf -q"$EXIM_QUEUE_INTERVAL" -oX "$port" "$@" \
		</dev/null >>"$EXIM_DIR/daemon.out" 2>&1 &
	EXIM_PID=$!
	_exim_pids[$conf]=$EXIM_PID
	local deadline=$((SECONDS + EXIM_START_TIMEOUT))
	while :; do
		if ! kill -0 "$EXIM_PID" 2>/dev/null; then
			_exim_err "exim exited at start:"
			cat "$EXIM_DIR/daemon.out" >&2 || true
			exim_log_tail 5 >&2 || true
			unset "_exim_pids[$conf]"
			EXIM_PID=""
			return 1
		fi
		if grep -qs "bind() to port .* failed" "$EXIM_DIR/daemon.out"; then
			_exim_err "exim cannot bind port $port:"
			cat "$EXIM_DIR/daemon.out" >&2 || true
			exim_stop "$conf"
			return 1
		fi
		if [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]] &&
		    _exim_greets "$port"; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			_exim_err "exim did not answer on port $port within" \
			    "${EXIM_START_TIMEOUT}s"
			exim_log_tail 10 >&2 || true
			exim_stop "$conf"
			return 1
		fi
		sleep 0.1
	done
}

exim_stop() {
	local conf
	if [[ $# -eq 0 ]]; then
		local rc=0
		for conf in "${!_exim_pids[@]}"; do
			exim_stop "$conf" || rc=1
		done
		return "$rc"
	fi
	conf=$1
	[[ -n ${_exim_pids[$conf]-} ]] || return 0
	local pid=${_exim_pids[$conf]} pids
	kill -TERM "$pid" 2>/dev/null || true
	# Then whatever it started: deliveries in progress, queue runners.
	local deadline=$((SECONDS + EXIM_STOP_TIMEOUT)) sent_term=0
	while :; do
		pids=$(_exim_procs "$conf")
		[[ -z $pids ]] && break
		if ((SECONDS >= deadline)); then
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
			sleep 0.2
			break
		fi
		if ((sent_term == 0)); then
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null || true
			sent_term=1
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
	pids=$(_exim_procs "$conf")
	unset "_exim_pids[$conf]"
	[[ $EXIM_PID != "$pid" ]] || EXIM_PID=""
	if [[ -n $pids ]]; then
		_exim_err "processes still running on $conf:" "${pids//$'\n'/ }"
		return 1
	fi
	return 0
}

exim_log_tail() {
	local n=${1:-20} dir=${2:-$EXIM_DIR} f
	[[ -n $dir ]] || return 0
	for f in "$dir/log/mainlog" "$dir/log/paniclog" "$dir/daemon.out"; do
		if [[ -s $f ]]; then
			echo "== $f"
			tail -n "$n" "$f"
		fi
	done
}
