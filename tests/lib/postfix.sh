# shellcheck shell=bash
# tests/lib/postfix.sh - a private Postfix 3.7 for the tests (the milter
# tests, the import test's equivalence with OpenDKIM), and the sink it
# relays to.
#
# Postfix comes from Debian's package, downloaded once (apt-get download,
# cached) and unpacked into a work folder of its own, never installed (it
# would conflict with the Exim the other tests install); it runs from
# there with its own config folder (postfix -c DIR), every service
# unchrooted.
#
#   postfix_unpack CACHE DEST     the package, unpacked into DEST
#   postfix_start MAIN_IN MASTER_IN [SED-ARGS...]
#                                 users, folders, main.cf and master.cf
#                                 from the templates (@PF@, @W@, @CONF@
#                                 filled in, and whatever SED-ARGS say),
#                                 then "postfix start"; its output in
#                                 POSTFIX_OUT.  Needs PF (the unpacked
#                                 package), CONF (its config folder) and
#                                 PFW (its work folder: spool, data, log)
#   postfix_cmd ARGS...           the postfix command on that config
#   postfix_version               mail_version
#   wait_port PORT                until 127.0.0.1:PORT accepts (10 s)
#   sink_start PORT DIR ERRFILE   tests/milter/sink.py keeping each message
#                                 it gets in DIR; SINK_PID

_POSTFIX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

sink_start() {
	mkdir -p "$2"
	/usr/bin/python3 "$_POSTFIX_ROOT/tests/milter/sink.py" --port "$1" \
	    --dir "$2" 2>"$3" &
	# shellcheck disable=SC2034 # the caller's, to stop it
	SINK_PID=$!
	wait_port "$1"
}

postfix_unpack() {
	local cache=$1 dest=$2 deb
	mkdir -p "$cache" "$dest"
	deb=$(find "$cache" -maxdepth 1 -name 'postfix_*.deb' | head -n 1)
	if [[ -z $deb ]]; then
		(cd "$cache" && { apt-get download postfix >/dev/null 2>&1 ||
		    { apt-get update -qq >/dev/null && apt-get download postfix >/dev/null; }; }) ||
		    { echo "apt-get download postfix failed" >&2; return 1; }
		deb=$(find "$cache" -maxdepth 1 -name 'postfix_*.deb' | head -n 1)
	fi
	dpkg -x "$deb" "$dest" || return 1
	# The dynamic loader ignores LD_LIBRARY_PATH in set-gid programs, and
	# the unpacked libraries are found only through it: root needs no
	# set-gid.
	chmod g-s "$dest/usr/sbin/postdrop" "$dest/usr/sbin/postqueue"
}

postfix_cmd() {
	LD_LIBRARY_PATH=$PF/usr/lib/postfix MAIL_CONFIG=$CONF \
	    "$PF/usr/sbin/postfix" -c "$CONF" "$@"
}

postfix_version() {
	LD_LIBRARY_PATH=$PF/usr/lib/postfix \
	    "$PF/usr/sbin/postconf" -d -c "$CONF" mail_version 2>/dev/null |
	    sed 's/.*= //'
}

# shellcheck disable=SC2034 # POSTFIX_OUT is the caller's
postfix_start() {
	local main=$1 master=$2
	shift 2
	POSTFIX_OUT=
	getent group postdrop >/dev/null || groupadd --system postdrop ||
	    { POSTFIX_OUT="cannot create the postdrop group"; return 1; }
	getent passwd postfix >/dev/null ||
	    useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin postfix ||
	    { POSTFIX_OUT="cannot create the postfix user"; return 1; }
	mkdir -p "$CONF" "$PFW/spool" "$PFW/data" "$PFW/log"
	chown postfix: "$PFW/data"
	# meta_directory: postfix-files tells "postfix start" what to create.
	cp "$PF/etc/postfix/postfix-files" "$CONF/"
	mkdir -p "$CONF/postfix-files.d" "$CONF/dynamicmaps.cf.d"
	cp "$PF/usr/share/postfix/dynamicmaps.cf" "$CONF/"
	local -a subst=(-e "s|@PF@|$PF|g" -e "s|@W@|$PFW|g" -e "s|@CONF@|$CONF|g")
	sed "${subst[@]}" "$@" "$main" >"$CONF/main.cf"
	sed "${subst[@]}" "$@" "$master" >"$CONF/master.cf"
	POSTFIX_OUT=$(postfix_cmd start 2>&1)
}
