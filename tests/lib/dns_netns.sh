# shellcheck shell=bash
# tests/lib/dns_netns.sh - a private DNS server for tests, in a network
# namespace of its own.
#
# Source this file from bash, then:
#
#   dns_netns_init                  create the namespace (name in $DNS_NETNS),
#                                   bring lo up, point its resolv.conf at
#                                   127.0.0.1, install the cleanup trap
#   dns_netns_add_zone FILE...      add the TXT records of zone-file lines
#                                   such as those "vdkimctl keygen" writes:
#                                   NAME. IN TXT ( "s1" "s2" ... )
#   dns_netns_add_txt NAME STR...   add one TXT record of the given strings
#   dns_netns_add_revoked NAME      add "v=DKIM1; k=rsa; p=" (a revoked key)
#   dns_netns_add_nxdomain NAME     make sure NAME answers NXDOMAIN
#   dns_netns_start                 start dnsmasq on 127.0.0.1:53 inside the
#                                   namespace and wait (bounded) until it
#                                   answers
#   dns_netns_exec CMD [ARG...]     run CMD inside the namespace
#   dns_netns_cleanup               stop dnsmasq, delete the namespace and
#                                   /etc/netns/NAME (idempotent; the trap
#                                   calls it)
#
# Every function returns non-zero with a message on stderr on failure.
# Works under "set -euo pipefail".  Call dns_netns_init in the main shell,
# not in a subshell or $(...): the trap and the state live there.  The
# cleanup also stops any process still running inside the namespace.
#
# Traps: dns_netns_init traps EXIT, INT, TERM and HUP.  The EXIT handler
# calls the function named in $DNS_NETNS_EXIT_HOOK (if set; e.g. to stop
# the caller's own background jobs and remove its temp dirs) and then
# dns_netns_cleanup, so a caller keeps its own cleanup by setting
# DNS_NETNS_EXIT_HOOK=my_cleanup instead of trapping EXIT itself.
# On a signal the handler cleans up and exits with 128+signal.
#
# Records are written to a dnsmasq configuration file, where dnsmasq
# understands quoted strings ("a","b" gives a record of two strings);
# on its command line it would keep the quotes as part of the data.  Every
# domain that holds a record is declared local, so names under it that
# have no record answer NXDOMAIN instead of REFUSED.
#
# Needs root, iproute2 (ip netns) and dnsmasq-base (/usr/sbin/dnsmasq).
# The readiness check uses /usr/bin/python3 with dnspython.

DNS_NETNS=""
DNS_NETNS_DIR=""        # state: dnsmasq.conf, dnsmasq.log
DNS_NETNS_PID=""
DNS_NETNS_DNSMASQ=${DNS_NETNS_DNSMASQ:-/usr/sbin/dnsmasq}
DNS_NETNS_PYTHON=${DNS_NETNS_PYTHON:-/usr/bin/python3}
DNS_NETNS_TIMEOUT=${DNS_NETNS_TIMEOUT:-5}   # seconds to wait for dnsmasq
DNS_NETNS_EXIT_HOOK=${DNS_NETNS_EXIT_HOOK:-}
_dns_netns_first_name=""       # a name to query in the readiness check
declare -gA _dns_netns_names=() # name -> "record" or "nxdomain"
declare -gA _dns_netns_local=() # domains answered locally

_dns_netns_err() {
	echo "dns_netns: $*" >&2
}

# _dns_netns_on_exit: the EXIT trap.
_dns_netns_on_exit() {
	local rc=$?
	if [[ -n $DNS_NETNS_EXIT_HOOK ]]; then
		"$DNS_NETNS_EXIT_HOOK" || true
	fi
	dns_netns_cleanup
	return "$rc"
}

# _dns_netns_on_signal SIG NUM: INT/TERM/HUP; the EXIT trap runs after.
_dns_netns_on_signal() {
	_dns_netns_err "caught SIG$1, cleaning up"
	trap - "$1"
	exit $((128 + $2))
}

dns_netns_init() {
	if [[ -n $DNS_NETNS ]]; then
		_dns_netns_err "already initialised ($DNS_NETNS)"
		return 1
	fi
	if [[ $(id -u) != 0 ]]; then
		_dns_netns_err "needs root (ip netns, port 53)"
		return 1
	fi
	if ! command -v ip >/dev/null 2>&1; then
		_dns_netns_err "ip(8) not found (package iproute2)"
		return 1
	fi
	if [[ ! -x $DNS_NETNS_DNSMASQ ]]; then
		_dns_netns_err "$DNS_NETNS_DNSMASQ not found (package dnsmasq-base)"
		return 1
	fi
	local name="vdkim-dns-$$"
	trap _dns_netns_on_exit EXIT
	trap '_dns_netns_on_signal INT 2' INT
	trap '_dns_netns_on_signal TERM 15' TERM
	trap '_dns_netns_on_signal HUP 1' HUP
	DNS_NETNS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dns_netns.XXXXXX") || {
		_dns_netns_err "mktemp failed"
		return 1
	}
	: >"$DNS_NETNS_DIR/dnsmasq.conf"
	if ! ip netns add "$name"; then
		_dns_netns_err "ip netns add $name failed"
		return 1
	fi
	DNS_NETNS=$name
	if ! ip netns exec "$name" ip link set lo up; then
		_dns_netns_err "cannot bring lo up in $name"
		return 1
	fi
	# ip netns exec bind-mounts /etc/netns/NAME/* over /etc/*.
	if ! { mkdir -p "/etc/netns/$name" &&
		printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' \
			>"/etc/netns/$name/resolv.conf"; }; then
		_dns_netns_err "cannot write /etc/netns/$name/resolv.conf"
		return 1
	fi
	return 0
}

dns_netns_cleanup() {
	local i p alive pids=()
	# dnsmasq by the PID kept (or the one in the state dir, should
	# dns_netns_start have run in a subshell), and whatever else still runs
	# inside our private namespace.  Safe under set -e.
	if [[ -z $DNS_NETNS_PID && -n $DNS_NETNS_DIR && -s $DNS_NETNS_DIR/dnsmasq.pid ]]; then
		DNS_NETNS_PID=$(<"$DNS_NETNS_DIR/dnsmasq.pid") || DNS_NETNS_PID=""
	fi
	[[ -z $DNS_NETNS_PID ]] || pids+=("$DNS_NETNS_PID")
	if [[ -n $DNS_NETNS ]]; then
		for p in $(ip netns pids "$DNS_NETNS" 2>/dev/null || true); do
			[[ " ${pids[*]} " == *" $p "* ]] || pids+=("$p")
		done
	fi
	if ((${#pids[@]} > 0)); then
		for p in "${pids[@]}"; do
			kill -TERM "$p" 2>/dev/null || true
		done
		for ((i = 0; i < 20; i++)); do
			alive=0
			for p in "${pids[@]}"; do
				if kill -0 "$p" 2>/dev/null; then
					alive=1
				fi
			done
			((alive)) || break
			sleep 0.1
		done
		for p in "${pids[@]}"; do
			kill -KILL "$p" 2>/dev/null || true
		done
		if [[ -n $DNS_NETNS_PID ]]; then
			wait "$DNS_NETNS_PID" 2>/dev/null || true
		fi
	fi
	DNS_NETNS_PID=""
	if [[ -n $DNS_NETNS ]]; then
		ip netns del "$DNS_NETNS" 2>/dev/null || true
		rm -rf "/etc/netns/$DNS_NETNS" || true
		DNS_NETNS=""
	fi
	if [[ -n $DNS_NETNS_DIR ]]; then
		rm -rf "$DNS_NETNS_DIR" || true
		DNS_NETNS_DIR=""
	fi
	return 0
}

_dns_netns_check_name() {
	local name=$1
	if [[ ! $name =~ ^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$ || $name == *..* ]]; then
		_dns_netns_err "bad DNS name '$name'"
		return 1
	fi
}

# _dns_netns_mark_local NAME: answer every name of NAME's domain locally.
# For a DKIM key name (sel._domainkey.dom) that domain is dom; otherwise
# the name without its first label (or the name itself if it has one).
_dns_netns_mark_local() {
	local name=$1 dom
	if [[ $name == *._domainkey.* ]]; then
		dom=${name#*._domainkey.}
	elif [[ $name == *.*.* ]]; then
		dom=${name#*.}
	else
		dom=$name
	fi
	if [[ -z ${_dns_netns_local[$dom]+x} ]]; then
		_dns_netns_local[$dom]=1
		printf 'local=/%s/\n' "$dom" >>"$DNS_NETNS_DIR/dnsmasq.conf"
	fi
}

# _dns_netns_quote STR: STR as a dnsmasq quoted string; the string is taken
# literally (a backslash or quote in it is escaped).
_dns_netns_quote() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# _dns_netns_add_raw NAME QUOTED...: each QUOTED is already in dnsmasq's
# quoted form ("...", with backslash escapes).
_dns_netns_add_raw() {
	local name=$1 line q
	shift
	if [[ -z $DNS_NETNS_DIR ]]; then
		_dns_netns_err "call dns_netns_init first"
		return 1
	fi
	if [[ -n $DNS_NETNS_PID ]]; then
		_dns_netns_err "records must be added before dns_netns_start"
		return 1
	fi
	name=${name%.}
	_dns_netns_check_name "$name" || return 1
	if [[ ${_dns_netns_names[$name]:-} == nxdomain ]]; then
		_dns_netns_err "$name is declared NXDOMAIN, cannot add a record"
		return 1
	fi
	if (($# == 0)); then
		_dns_netns_err "no strings for $name"
		return 1
	fi
	line="txt-record=$name"
	for q in "$@"; do
		if ((${#q} > 2 + 255 * 4)); then
			_dns_netns_err "string too long for $name"
			return 1
		fi
		line+=",$q"
	done
	printf '%s\n' "$line" >>"$DNS_NETNS_DIR/dnsmasq.conf"
	_dns_netns_names[$name]=record
	[[ -n $_dns_netns_first_name ]] || _dns_netns_first_name=$name
	_dns_netns_mark_local "$name"
}

dns_netns_add_txt() {
	local name=$1 s quoted=()
	shift
	for s in "$@"; do
		if ((${#s} > 255)); then
			_dns_netns_err "a TXT string is at most 255 bytes (${#s} for $name)"
			return 1
		fi
		quoted+=("$(_dns_netns_quote "$s")")
	done
	_dns_netns_add_raw "$name" "${quoted[@]}"
}

dns_netns_add_revoked() {
	dns_netns_add_txt "$1" "v=DKIM1; k=rsa; p="
}

dns_netns_add_nxdomain() {
	local name=${1%.}
	if [[ -z $DNS_NETNS_DIR ]]; then
		_dns_netns_err "call dns_netns_init first"
		return 1
	fi
	_dns_netns_check_name "$name" || return 1
	if [[ ${_dns_netns_names[$name]:-} == record ]]; then
		_dns_netns_err "$name already has a record, cannot be NXDOMAIN"
		return 1
	fi
	_dns_netns_names[$name]=nxdomain
	_dns_netns_mark_local "$name"
}

# _dns_netns_add_record TOKENS...: one record from the zone-file tokenizer:
# words as "w:WORD", quoted strings as "q:CONTENT" (escapes kept).
_dns_netns_add_record() {
	local name="" t i=0 seen_txt=0 strs=() w
	for t in "$@"; do
		case $t in
		w:*)
			w=${t#w:}
			if ((i == 0)); then
				name=$w
			elif ((seen_txt)); then
				# unquoted character-string
				strs+=("\"$w\"")
			elif [[ ${w^^} == TXT ]]; then
				seen_txt=1
			elif [[ ! ${w^^} =~ ^(IN|CH|HS|[0-9]+[SMHDW]?)$ ]]; then
				_dns_netns_err "not a TXT record: ${w} (record $name)"
				return 1
			fi
			;;
		q:*)
			if ((i == 0 || !seen_txt)); then
				_dns_netns_err "quoted string before TXT in record '$name'"
				return 1
			fi
			strs+=("\"${t#q:}\"")
			;;
		esac
		i=$((i + 1))
	done
	if [[ -z $name || $seen_txt == 0 ]]; then
		_dns_netns_err "incomplete record '$name'"
		return 1
	fi
	if [[ $name == @ || $name != *. ]]; then
		_dns_netns_err "record name '$name' is not absolute (needs a final dot)"
		return 1
	fi
	_dns_netns_add_raw "$name" "${strs[@]}"
}

# dns_netns_add_zone FILE...: reads zone-file records: NAME [TTL] [IN] TXT
# strings, where the strings may be wrapped in ( ) over several lines.
# ';' starts a comment outside quotes; $ORIGIN/$TTL lines are refused.
dns_netns_add_zone() {
	local f text n i c tok quoted depth state toks=() inword=0
	for f in "$@"; do
		if [[ ! -r $f ]]; then
			_dns_netns_err "cannot read zone file $f"
			return 1
		fi
		text=$(<"$f")$'\n'
		n=${#text}
		depth=0 state=0 tok="" quoted="" toks=() inword=0
		# state 0: outside quotes; 1: inside quotes; 2: in a comment
		for ((i = 0; i < n; i++)); do
			c=${text:i:1}
			case $state in
			1)
				if [[ $c == "\\" ]]; then
					quoted+=$c${text:i+1:1}
					i=$((i + 1))
				elif [[ $c == '"' ]]; then
					toks+=("q:$quoted")
					quoted=""
					state=0
				else
					quoted+=$c
				fi
				continue
				;;
			2)
				[[ $c == $'\n' ]] || continue
				state=0
				;;
			esac
			if ((inword)) && [[ $c == [[:space:]] || $c == [\;\(\)\"] ]]; then
				toks+=("w:$tok")
				tok="" inword=0
			fi
			case $c in
			'"') state=1 ;;
			';') state=2 ;;
			'(') depth=$((depth + 1)) ;;
			')')
				depth=$((depth - 1))
				if ((depth < 0)); then
					_dns_netns_err "$f: unbalanced ')'"
					return 1
				fi
				;;
			$'\n')
				if ((depth == 0 && ${#toks[@]} > 0)); then
					if [[ ${toks[0]} == 'w:$'* ]]; then
						_dns_netns_err "$f: directives (${toks[0]#w:}) are not supported"
						return 1
					fi
					_dns_netns_add_record "${toks[@]}" || return 1
					toks=()
				fi
				;;
			[[:space:]]) ;;
			*)
				tok+=$c
				inword=1
				;;
			esac
		done
		if ((state == 1 || depth != 0)); then
			_dns_netns_err "$f: unterminated string or parenthesis"
			return 1
		fi
	done
}

dns_netns_exec() {
	if [[ -z $DNS_NETNS ]]; then
		_dns_netns_err "no namespace (call dns_netns_init)"
		return 1
	fi
	ip netns exec "$DNS_NETNS" "$@"
}

# _dns_netns_probe NAME TIMEOUT KIND PID: queries until the server answers,
# up to TIMEOUT seconds or until PID is gone.  KIND "record" requires a TXT
# answer for NAME; otherwise any reply will do.
_dns_netns_probe() {
	# shellcheck disable=SC2016
	dns_netns_exec "$DNS_NETNS_PYTHON" -c '
import os, sys, time
import dns.message, dns.query, dns.rcode, dns.rdatatype
name, limit, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[4])
deadline = time.monotonic() + limit
err = "no reply"
while time.monotonic() < deadline:
    if not os.path.exists("/proc/%d" % pid):
        print("dnsmasq exited")
        sys.exit(2)
    try:
        q = dns.message.make_query(name, dns.rdatatype.TXT)
        r = dns.query.udp(q, "127.0.0.1", timeout=0.3)
        if sys.argv[3] == "record":
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                sys.exit(0)
            err = "reply %s without answer" % dns.rcode.to_text(r.rcode())
        else:
            sys.exit(0)
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    time.sleep(0.05)
print(err)
sys.exit(1)
' "$@"
}

dns_netns_start() {
	local probe_name probe_kind out
	if [[ -z $DNS_NETNS ]]; then
		_dns_netns_err "call dns_netns_init first"
		return 1
	fi
	if [[ -n $DNS_NETNS_PID ]]; then
		_dns_netns_err "already started"
		return 1
	fi
	ip netns exec "$DNS_NETNS" "$DNS_NETNS_DNSMASQ" \
		--conf-file="$DNS_NETNS_DIR/dnsmasq.conf" \
		--no-resolv --no-hosts --no-poll --keep-in-foreground \
		--listen-address=127.0.0.1 --bind-interfaces --port=53 \
		--pid-file= --user=root --group=root --cache-size=0 \
		--log-facility=- ${DNS_NETNS_LOG_QUERIES:+--log-queries} \
		</dev/null >"$DNS_NETNS_DIR/dnsmasq.log" 2>&1 &
	DNS_NETNS_PID=$!
	echo "$DNS_NETNS_PID" >"$DNS_NETNS_DIR/dnsmasq.pid"
	if [[ -n $_dns_netns_first_name ]]; then
		probe_name=$_dns_netns_first_name probe_kind=record
	else
		probe_name=probe.invalid probe_kind=any
	fi
	if ! out=$(_dns_netns_probe "$probe_name" "$DNS_NETNS_TIMEOUT" \
		"$probe_kind" "$DNS_NETNS_PID"); then
		if ! kill -0 "$DNS_NETNS_PID" 2>/dev/null; then
			_dns_netns_err "dnsmasq failed to start:"
		else
			_dns_netns_err "dnsmasq does not answer $probe_name within ${DNS_NETNS_TIMEOUT}s (${out:-probe failed})"
		fi
		sed 's/^/dns_netns:   /' "$DNS_NETNS_DIR/dnsmasq.log" >&2
		return 1
	fi
	if ! kill -0 "$DNS_NETNS_PID" 2>/dev/null; then
		_dns_netns_err "dnsmasq exited right after starting"
		sed 's/^/dns_netns:   /' "$DNS_NETNS_DIR/dnsmasq.log" >&2
		return 1
	fi
	return 0
}
