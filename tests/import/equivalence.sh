# shellcheck shell=bash
# tests/import/equivalence.sh - sourced by tests/import/run.sh: Debian's
# opendkim 2.11 with an original config and vdkim-milter with what
# "vdkimctl import opendkim" made of it, behind one private Postfix 3.7
# (tests/lib/postfix.sh) in a network namespace whose dnsmasq holds the
# keys' records.  Each message goes through both (two smtpd, one milter
# each) to one sink; the two copies must carry the same d=, s= and signed
# header set (h=), or both none, and every signed copy must verify over
# DNS (dkimpy, Mail::DKIM).  opendkim runs in the foreground, started and
# stopped here by its process id; never as a service.

# shellcheck source=../lib/postfix.sh
. "$ROOT/tests/lib/postfix.sh"

# ---------------------------------------------------------------- outer

equivalence_outer() {
	local build=$1
	[[ -x /usr/sbin/opendkim ]] ||
	    fatal "Debian's opendkim is installed (make deps)" "/usr/sbin/opendkim"
	[[ -x $build/vdkim-milter && -x $build/vdkim.so ]] ||
	    fatal "build first: $build/vdkim-milter, vdkim.so"
	[[ $(id -u) == 0 ]] || fatal "the equivalence test needs root (a network namespace)"
	# Debian's service (make deps never starts it) would hold its pid
	# file; other opendkim processes may be other tests' own.
	if [[ -s /run/opendkim/opendkim.pid ]] &&
	    kill -0 "$(cat /run/opendkim/opendkim.pid)" 2>/dev/null; then
		fatal "Debian's opendkim service is not running (make deps never starts it)" \
		    "/run/opendkim/opendkim.pid"
	fi
	ok "Debian's opendkim service is not running"
	postfix_unpack "$build/cache" "$WORK/postfix/root" ||
	    fatal "Debian's postfix package, downloaded and unpacked"
	# opendkim drops to its user (UserID) and wants its keys its own:
	# it may read them as that user, and RequireSafeKeys refuses keys
	# others can read.  vdkim reads them as root.
	chown -R opendkim: "$WORK/src/example.com" "$WORK/src/example.org"
	# shellcheck source=../lib/dns_netns.sh
	. "$ROOT/tests/lib/dns_netns.sh"
	# shellcheck disable=SC2034 # called by dns_netns.sh's EXIT trap
	DNS_NETNS_EXIT_HOOK=cleanup
	dns_netns_init || fatal "dns_netns_init"
	dns_netns_add_zone "$WORK"/src/example.com/*.txt \
	    "$WORK"/src/example.org/*.txt || fatal "add the keys' TXT records"
	dns_netns_start || fatal "dnsmasq starts in the namespace"
	# Into a file, not a pipe: the daemons started inside must not hold
	# the outer run's output open.
	dns_netns_exec bash "$HERE/run.sh" --inner "$build" "$WORK" \
	    >"$WORK/inner.log" 2>&1
	sed '$d' "$WORK/inner.log"
	# The inner run's count joins this one's.
	local line
	line=$(tail -n 1 "$WORK/inner.log")
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		PASS=$((PASS + BASH_REMATCH[1]))
		FAIL=$((FAIL + BASH_REMATCH[2]))
	else
		bad "the equivalence run finished" "$WORK/inner.log"
	fi
}

# ---------------------------------------------------------------- inner

equivalence_inner() {
	BUILD=$1
	WORK=$2
	CTL=$BUILD/vdkimctl
	PF=$WORK/postfix/root
	CONF=$WORK/postfix/etc
	PFW=$WORK/postfix
	SINK=$WORK/sink
	trap equivalence_stop EXIT
	sink_start "$SINK_PORT" "$SINK" "$WORK/sink.err" >/dev/null ||
	    fatal "the sink listens" "$WORK/sink.err"
	{
		cat "$HERE/master.cf.in"
		sed -n '/^pickup/,$p' "$ROOT/tests/milter/master.cf.in"
	} >"$WORK/master.cf.in"
	postfix_start "$ROOT/tests/milter/main.cf.in" "$WORK/master.cf.in" \
	    -e "s|@SINK_PORT@|$SINK_PORT|g" -e "s|@MILTER_PORT@|$MILTER_PORT|g" \
	    -e "s|@OPENDKIM_PORT@|$OPENDKIM_PORT|g" \
	    -e "s|@PORT_ORIG@|$PORT_ORIG|g" -e "s|@PORT_VDKIM@|$PORT_VDKIM|g" ||
	    fatal "the private Postfix starts" "$POSTFIX_OUT" "$PFW/log/maillog"
	if ! wait_port "$PORT_ORIG" || ! wait_port "$PORT_VDKIM"; then
		fatal "Postfix's smtpd listen" "$PFW/log/maillog"
	fi
	ok "the private Postfix $(postfix_version) runs"

	# single.conf: Debian's layout, one key.
	equivalence_round single \
	    user@example.com:signed user@sub.example.com:unsigned \
	    user@other.example:unsigned
	# tables.conf: KeyTable + refile: SigningTable, the lines vdkim can
	# say exactly (the others are warned about: tests above).
	equivalence_round tables \
	    x@example.com:signed x@shop.example.com:signed \
	    y@a.b.example.com:signed y@example.org:signed \
	    x@sub.example.org:unsigned x@unlisted.example:unsigned
}

equivalence_stop() {
	postfix_cmd stop >/dev/null 2>&1
	stop_signers
	[[ -z ${SINK_PID:-} ]] || kill "$SINK_PID" 2>/dev/null
	wait 2>/dev/null
}

# Ends opendkim's process group and vdkim-milter: SIGTERM, then after 5 s
# SIGKILL (opendkim's AutoRestart parent may outlive its filter).
stop_signers() {
	local i
	[[ -z ${OPENDKIM_PID:-} ]] || kill -- "-$OPENDKIM_PID" 2>/dev/null
	[[ -z ${MILTER_PID:-} ]] || kill "$MILTER_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		{ [[ -n ${OPENDKIM_PID:-} ]] && kill -0 -- "-$OPENDKIM_PID" 2>/dev/null; } ||
		    { [[ -n ${MILTER_PID:-} ]] && kill -0 "$MILTER_PID" 2>/dev/null; } ||
		    break
		sleep 0.1
	done
	[[ -z ${OPENDKIM_PID:-} ]] || kill -9 -- "-$OPENDKIM_PID" 2>/dev/null
	[[ -z ${MILTER_PID:-} ]] || kill -9 "$MILTER_PID" 2>/dev/null
	[[ -z ${OPENDKIM_PID:-} ]] || wait "$OPENDKIM_PID" 2>/dev/null
	[[ -z ${MILTER_PID:-} ]] || wait "$MILTER_PID" 2>/dev/null
	OPENDKIM_PID='' MILTER_PID=
}

# wait_listen PORT: until something listens on 127.0.0.1:PORT (10 s),
# seen by ss, without connecting: opendkim with AutoRestart takes a bare
# connect-and-close for a failed filter and restarts it, refusing
# connections meanwhile.
wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]] && return 0
		sleep 0.1
	done
	return 1
}

# equivalence_round NAME ADDRESS:signed|unsigned...
equivalence_round() {
	local name=$1 conf=$WORK/src/$1.conf vconf=$WORK/$1.vdkim.conf
	local spec addr want n=0 files=() f
	shift
	# The original, in the foreground (-f), in a process group of its own
	# (with AutoRestart it forks the filter; stop_signers ends the group).
	setsid /usr/sbin/opendkim -f -x "$conf" -l >"$WORK/$name.opendkim.err" 2>&1 &
	OPENDKIM_PID=$!
	wait_listen "$OPENDKIM_PORT" ||
	    fatal "$name: opendkim listens" "$WORK/$name.opendkim.err"
	ok "$name: opendkim $(/usr/sbin/opendkim -V 2>/dev/null | sed -n '1s/.*v//p') runs the original"
	# The import, with a milter block for vdkim-milter.
	if "$CTL" import opendkim "$conf" >"$vconf" 2>"$WORK/$name.import.err"; then
		ok "$name: imported"
	else
		fatal "$name: imported" "$WORK/$name.import.err"
	fi
	cat >>"$vconf" <<CONF
milter {
    module = "$BUILD/vdkim.so"
    listen = "inet:$MILTER_PORT@127.0.0.1"
    log-file = "$WORK/$name.milter.log"
}
CONF
	"$BUILD/vdkim-milter" --config "$vconf" >"$WORK/$name.milter.err" 2>&1 &
	MILTER_PID=$!
	wait_port "$MILTER_PORT" ||
	    fatal "$name: vdkim-milter listens" "$WORK/$name.milter.err" "$WORK/$name.milter.log"
	for spec in "$@"; do
		addr=${spec%:*}
		n=$((n + 1))
		f=$WORK/$name.m$n.eml
		{
			printf 'From: Someone <%s>\n' "$addr"
			printf 'To: rcpt@dest.example\nCc: other@dest.example\n'
			printf 'Subject: import equivalence %s %d\n' "$name" "$n"
			printf 'Date: Mon, 07 Dec 2026 12:00:00 +0000\n'
			printf 'Message-ID: <%s.%d.%d@example.com>\n' "$name" "$n" "$$"
			printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n'
			printf 'Reply-To: <%s>\nList-Unsubscribe: <mailto:u@example.com>\n' "$addr"
			printf 'Sender: <%s>\nIn-Reply-To: <p.%d@example.net>\n' "$addr" "$n"
			printf 'References: <p.%d@example.net>\nResent-From: <%s>\n' "$n" "$addr"
			printf 'X-Not-Signed: by either\n\n'
			printf 'Body %d of round %s.\n\n  spaces  and\ttabs  \n' "$n" "$name"
		} >"$f"
		files+=("$f")
	done
	for port in "$PORT_ORIG" "$PORT_VDKIM"; do
		if out=$("$PY" "$ROOT/tests/exim/smtp_send.py" --port "$port" \
		    --from "bounce@example.com" "${files[@]}" 2>&1); then
			ok "$name: $# messages accepted on $port"
		else
			bad "$name: $# messages accepted on $port" "$out" "$PFW/log/maillog"
		fi
	done
	compare_copies "$name" "$@"
	stop_signers
}

# The messages the sink has kept.
sink_count() {
	local f n=0
	for f in "$SINK"/*.eml; do
		[[ -e $f ]] && n=$((n + 1))
	done
	echo "$n"
}

compare_copies() {
	local name=$1 n=0 spec addr want i a b ta tb out
	shift
	# Both copies of each message (30 s).
	local until=$((SECONDS + 30))
	while ((SECONDS < until)); do
		(($(sink_count) >= ${SINK_SEEN:-0} + 2 * $#)) && break
		sleep 0.2
	done
	for spec in "$@"; do
		addr=${spec%:*} want=${spec##*:}
		n=$((n + 1))
		a=$(find_copy "$name" "$n" orig) b=$(find_copy "$name" "$n" vdkim)
		if [[ -z $a || -z $b ]]; then
			bad "$name: From: $addr: both copies arrive" "$PFW/log/maillog"
			continue
		fi
		ta=$("$PY" "$HERE/dkim_tags.py" "$a") tb=$("$PY" "$HERE/dkim_tags.py" "$b")
		if [[ $ta == "$tb" ]]; then
			ok "$name: From: $addr: the same ($ta)"
		else
			bad "$name: From: $addr: the same d=, s=, h=" "opendkim: $ta" "vdkim:    $tb"
		fi
		if [[ $want == unsigned ]]; then
			if [[ $ta == unsigned ]]; then
				ok "$name: From: $addr: unsigned, as the original"
			else
				bad "$name: From: $addr: unsigned" "$ta"
			fi
			continue
		fi
		[[ $ta == d=* ]] || { bad "$name: From: $addr: signed" "$ta"; continue; }
		for f in "$a" "$b"; do
			local who=opendkim
			[[ $f == "$b" ]] && who=vdkim
			if out=$("$PY" "$ROOT/tests/peers/dkimpy_peer.py" verify "$f" 2>&1) &&
			    [[ $out == *"dkim=pass"* ]]; then
				ok "$name: From: $addr: $who's copy: dkimpy pass over DNS"
			else
				bad "$name: From: $addr: $who's copy: dkimpy pass" "$out"
			fi
			if out=$(perl "$ROOT/tests/peers/maildkim_peer.pl" verify "$f" 2>&1) &&
			    [[ $out == *"dkim=pass"* ]]; then
				ok "$name: From: $addr: $who's copy: Mail::DKIM pass over DNS"
			else
				bad "$name: From: $addr: $who's copy: Mail::DKIM pass" "$out"
			fi
		done
	done
	SINK_SEEN=$(sink_count)
}

# find_copy NAME N orig|vdkim: the sink's copy of message N of round NAME
# that came through that smtpd: its Received: names the queue id
# ("with ESMTP id ID"), and the maillog the smtpd (syslog_name
# postfix-orig or postfix-vdkim, master.cf.in) that took it.
find_copy() {
	local name=$1 n=$2 route=$3 f id
	for f in "$SINK"/*.eml; do
		[[ -e $f ]] || continue
		grep -qx "Subject: import equivalence $name $n"$'\r' "$f" || continue
		id=$(tr -d '\r' <"$f" | sed -n 's/.*with E\?SMTP id \([0-9A-Za-z]*\).*/\1/p' | head -n 1)
		[[ -n $id ]] || continue
		# maillog: "postfix-orig/smtpd[PID]: ID: client=..."
		if grep -q "postfix-$route/smtpd\[[0-9]*\]: $id: client=" "$PFW/log/maillog"; then
			echo "$f"
			return 0
		fi
	done
	return 1
}
