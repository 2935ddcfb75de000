# shellcheck shell=bash
# tests/lib/postfix.sh - a private Postfix 3.7 from Debian's package,
# unpacked (never installed: it conflicts with the Exim the other tests
# install) and run from a folder of the caller's with its own config
# folder (postfix -c DIR), every service unchrooted.
#
#   postfix_unpack CACHE DIR   downloads the package once into CACHE
#                              (apt-get download) and unpacks it into
#                              DIR/root; sets PF_DIR=DIR
#   postfix_start MAIN_IN MASTER_IN [SED_EXPR...]
#                              the postfix user and postdrop group, DIR's
#                              folders, DIR/etc/main.cf and master.cf from
#                              the templates (@PF@ the unpacked package,
#                              @W@ DIR, @CONF@ DIR/etc, then each
#                              SED_EXPR), then "postfix start"
#   postfix_cmd ARG...         postfix -c DIR/etc ARG... (e.g. stop)
#
# Facts found while making it run: the binaries find their libraries
# through LD_LIBRARY_PATH (RUNPATH is /usr/lib/postfix), which main.cf's
# import_environment must pass on; daemon_directory, command_directory,
# shlib_directory, meta_directory and queue_directory point into DIR; a
# copy of postfix-files is in the config folder; maillog_file lies under
# a maillog_file_prefixes entry (see tests/milter/main.cf.in).  DIR must
# be reachable by the postfix user (a 0755 mktemp folder).  Functions
# return non-zero with a message on stderr on failure.

PF_DIR=""

postfix_unpack() {
	local cache=$1 dir=$2 deb debs
	mkdir -p "$cache" "$dir" || return 1
	debs=("$cache"/postfix_*.deb)
	if [[ ! -f ${debs[0]} ]]; then
		(cd "$cache" && { apt-get download postfix >/dev/null 2>&1 ||
		    { apt-get update -qq >/dev/null &&
		    apt-get download postfix >/dev/null; }; }) ||
		    { echo "postfix.sh: apt-get download postfix failed" >&2; return 1; }
		debs=("$cache"/postfix_*.deb)
	fi
	deb=${debs[0]}
	dpkg -x "$deb" "$dir/root" ||
	    { echo "postfix.sh: dpkg -x $deb failed" >&2; return 1; }
	# The dynamic loader ignores LD_LIBRARY_PATH in set-gid programs, and
	# the unpacked libraries are found only through it: root needs no
	# set-gid.
	chmod g-s "$dir/root/usr/sbin/postdrop" "$dir/root/usr/sbin/postqueue"
	PF_DIR=$dir
}

postfix_cmd() {
	LD_LIBRARY_PATH=$PF_DIR/root/usr/lib/postfix MAIL_CONFIG=$PF_DIR/etc \
	    "$PF_DIR/root/usr/sbin/postfix" -c "$PF_DIR/etc" "$@"
}

postfix_start() {
	local main_in=$1 master_in=$2 pf=$PF_DIR/root conf=$PF_DIR/etc out
	local -a sed_args=(-e "s|@PF@|$pf|g" -e "s|@W@|$PF_DIR|g" -e "s|@CONF@|$conf|g")
	shift 2
	for out in "$@"; do
		sed_args+=(-e "$out")
	done
	getent group postdrop >/dev/null || groupadd --system postdrop ||
	    { echo "postfix.sh: cannot create the postdrop group" >&2; return 1; }
	getent passwd postfix >/dev/null ||
	    useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin postfix ||
	    { echo "postfix.sh: cannot create the postfix user" >&2; return 1; }
	mkdir -p "$conf" "$PF_DIR/spool" "$PF_DIR/data" "$PF_DIR/log" || return 1
	chown postfix: "$PF_DIR/data"
	# meta_directory: postfix-files tells "postfix start" what to create.
	cp "$pf/etc/postfix/postfix-files" "$conf/" || return 1
	mkdir -p "$conf/postfix-files.d" "$conf/dynamicmaps.cf.d"
	cp "$pf/usr/share/postfix/dynamicmaps.cf" "$conf/" || return 1
	sed "${sed_args[@]}" "$main_in" >"$conf/main.cf" || return 1
	sed "${sed_args[@]}" "$master_in" >"$conf/master.cf" || return 1
	if ! out=$(postfix_cmd start 2>&1); then
		echo "postfix.sh: postfix start failed: $out" >&2
		tail -n 5 "$PF_DIR/log/maillog" >&2 2>/dev/null
		return 1
	fi
}
