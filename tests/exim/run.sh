#!/usr/bin/env bash
# tests/exim/run.sh BUILD_DIR - vdkim inside the real Exim 4.96 (Debian's
# exim4-daemon-heavy), through ${dlfunc}, at both stages.
#
# In a private network namespace with its own dnsmasq (tests/lib/
# dns_netns.sh) holding the test key's TXT record:
#
#   A  the signing Exim: conf-examples/exim/exim-prequeue.conf or
#      exim-predelivery.conf as shipped, its macros given with -D (module,
#      vdkim config, own spool and logs, smarthost B);
#   B  the receiving Exim (tests/exim/verifier.conf): verifies every
#      signature with Exim's own DKIM verifier, keys over DNS, writes the
#      result into the message (X-Exim-DKIM:) and delivers to a Maildir.
#
# Mail goes in with swaks and tests/exim/smtp_send.py (several messages
# per session, DATA or BDAT), A signs and relays it to B, and each copy B
# delivered is checked with Exim's verdict, dkimpy and Mail::DKIM.  For
# each stage: one message (swaks), three in one session, 8-bit content, a
# message over 10 MB sent with BDAT, a virtual MTA that does not sign
# (delivered unsigned, reason in A's log), X-DKIM-Options removed, and
# dkim-require with no key for the From domain (pre-queue: 451 to the
# client; pre-delivery: the delivery is deferred, nothing reaches B);
# fields removed after signing (Reply-To added to the examples'
# REMOVED_FIELDS: the DATA ACL's remove_header, the transport's
# headers_remove) and still verifying; one message to two recipient
# domains (each domain's own decision at delivery); a 1200-character body
# line (relayed, not bounced) and one over the examples' MAX_LINE_LENGTH
# (refused at DATA).
# Then the spool layouts (split_spool_directory and a named queue), and
# everything again with B not offering CHUNKING (A sends with DATA
# instead of BDAT).
# Keys in a device, at both stages: a SoftHSM2 token (tests/lib/
# devices.sh) whose key pair was generated inside it, signed through
# libp11's pkcs11 ENGINE, the config loaded in A's daemon (which then has
# the token's library mapped) and every message signed in a process forked
# from it (several SMTP sessions: at least two signing pids, never the
# daemon's); dkim-require, so a failure could only defer; every message
# arrives signed by the token's key and verifies with Exim, dkimpy,
# Mail::DKIM and libopendkim; none arrives unsigned.
#
# Needs root (network namespace, Exim's -C as root), exim4-daemon-heavy,
# swaks, dnsmasq-base, python3-dkim, libmail-dkim-perl, softhsm2,
# libengine-pkcs11-openssl, opensc (pkcs11-tool), BUILD/peers/opendkim_peer.
# EXIM_TEST_KEEP=1 keeps the work folder; EXIM_TEST_VERBOSE=1 lists passing checks too.
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3 # Debian's python3, with python3-dkim
# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${EXIM_TEST_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"

SIGN_DOMAIN=sign.example
SELECTOR=ex1
HSM_SELECTOR=hsm1
HSM_PIN=52918364
A_PORT=2525
B_PORT=2526

fatal() {
	bad "$@"
	finish
}

# ================================================================ inner
# Everything below runs inside the namespace: loopback and DNS are the
# test's own.

inner() {
	BUILD=$1
	WORK=$2
	# Copies the Exim user can reach: the build folder may be inside a
	# checkout that only root can enter (a mktemp -d, /root).
	VDKIMCTL=$WORK/bin/vdkimctl
	MODULE=$WORK/bin/vdkim.so
	# shellcheck source=../lib/exim.sh
	. "$ROOT/tests/lib/exim.sh"
	trap 'exim_stop >/dev/null 2>&1' EXIT
	EXIM_USER=$(_exim_user) || fatal "cannot find the Exim user"
	MAILDIR=$WORK/b/maildir

	write_vdkim_conf
	start_verifier "*"
	for stage in prequeue predelivery; do
		stage_tests "$stage"
		layout_tests "$stage"
		hsm_tests "$stage"
	done
	exim_stop "$WORK/b/exim.conf" || bad "B stops"
	start_verifier '!*'
	for stage in prequeue predelivery; do
		no_chunking_tests "$stage"
	done
	finish
}

# The policy: sign everything from sign.example; "nosign" does not sign;
# "strict" must sign (dkim-require).
write_vdkim_conf() {
	cat >"$WORK/vdkim.conf" <<EOF
# tests/exim/run.sh
domain-key = "$SELECTOR,$SIGN_DOMAIN,$WORK/keys/$SELECTOR.private"
virtual-mta default {
}
virtual-mta nosign {
    domain "*" {
        dkim-sign = no
    }
}
virtual-mta strict {
    domain "*" {
        dkim-sign = yes
        dkim-require = yes
    }
}
domain "*" {
    dkim-sign = yes
}
# A destination the policy does not sign for (domain blocks are per
# recipient domain).
domain "nosign.example" {
    dkim-sign = no
}
# The shipped hosts' own blocks: one file serves them all, and Exim.
harness {
    module = "/nowhere/vdkim.so"
}
milter {
    socket = "inet:8891@localhost"
}
EOF
	chmod 0644 "$WORK/vdkim.conf"
	if ! out=$(runuser -u "$EXIM_USER" -- "$VDKIMCTL" config-test \
	    --config "$WORK/vdkim.conf" 2>&1); then
		fatal "the Exim user can load the vdkim config" "$out"
	fi
	ok "the Exim user can load the vdkim config"
}

# exim_folder DIR: DIR/spool and DIR/log, writable by the Exim user.
exim_folder() {
	mkdir -p "$1/spool" "$1/log" && chmod 0755 "$1" &&
		chown "$EXIM_USER:" "$1/spool" "$1/log"
}

# start_verifier CHUNKING_HOSTS: B on B_PORT.
start_verifier() {
	local dir=$WORK/b
	exim_folder "$dir" || fatal "make $dir"
	mkdir -p "$MAILDIR" && chown "$EXIM_USER:" "$MAILDIR"
	install -m 0644 "$ROOT/tests/exim/verifier.conf" "$dir/exim.conf"
	if ! exim_start "$dir/exim.conf" "$B_PORT" -DSPOOL="$dir/spool" \
	    -DLOGDIR="$dir/log" -DMAILDIR="$MAILDIR" \
	    -DCHUNKING_HOSTS="$1" -DEXIM_USER="$EXIM_USER"; then
		fatal "B (verifying Exim) starts"
	fi
	ok "B starts (CHUNKING offered to: '${1}')"
}

# start_signer STAGE LAYOUT: A on A_PORT from the shipped example.
# LAYOUT "plain", or "split-named": split_spool_directory and every
# message in the named queue "vdkimq", or "hsm": the SoftHSM2 policy
# (vdkim-hsm.conf), SOFTHSM2_CONF kept in Exim's environment (which Exim
# otherwise empties: keep_environment), and pids in the log.
start_signer() {
	local stage=$1 layout=$2 dir=$WORK/a-$1-$2 vconf=$WORK/vdkim.conf
	exim_folder "$dir" || fatal "make $dir"
	install -m 0644 "$ROOT/conf-examples/exim/exim-$stage.conf" \
	    "$dir/exim.conf"
	if [[ $layout == hsm ]]; then
		vconf=$WORK/vdkim-hsm.conf
		sed -i -e 's/^keep_environment =$/keep_environment = SOFTHSM2_CONF/' \
		    -e 's/^log_selector = .*/& +pid/' "$dir/exim.conf"
		grep -q '^keep_environment = SOFTHSM2_CONF$' "$dir/exim.conf" &&
		    grep -q '^log_selector = .* +pid$' "$dir/exim.conf" ||
		    fatal "make the hsm variant of exim-$stage.conf"
	fi
	if [[ $layout == split-named ]]; then
		sed -i -e 's/^spool_directory = SPOOL$/&\nsplit_spool_directory = true/' \
		    -e 's/^  accept  hosts = +relay_from_hosts$/&\n          queue = vdkimq/' \
		    "$dir/exim.conf"
		grep -q '^split_spool_directory' "$dir/exim.conf" &&
		    grep -q 'queue = vdkimq' "$dir/exim.conf" ||
		    fatal "make the split-named variant of exim-$stage.conf"
	fi
	A_DIR=$dir
	A_CONF=$dir/exim.conf
	# Reply-To is signed by default: removed after signing, it shows
	# whether the examples keep removal and skip= together.
	if ! exim_start "$A_CONF" "$A_PORT" -DVDKIM_SO="$MODULE" \
	    -DVDKIM_CONF="$vconf" -DSPOOL="$dir/spool" \
	    -DLOGDIR="$dir/log" -DSMARTHOST=127.0.0.1 \
	    -DREMOTE_PORT="$B_PORT" \
	    -DREMOVED_FIELDS="X-Virtual-MTA : Reply-To"; then
		fatal "A ($stage, $layout) starts" "$(exim_log_tail 10 "$dir")"
	fi
}

stop_signer() {
	exim_stop "$A_CONF" || bad "A stops ($A_CONF)"
}

# make_msg KIND VMTA [FROM] [EXTRA_HEADER]: a new message file; prints
# its path.  Its subject is unique ("vdkim-exim-test N").  KIND: text,
# 8bit (UTF-8 and Latin-1 bytes in a text/plain 8bit body), big (over
# 10 MB: 190,000 lines of text), longline (a body line of 1200
# characters), toolong (a body line of 70,000).
make_msg() {
	local kind=$1 vmta=$2 from=${3:-"Sender <sender@$SIGN_DOMAIN>"}
	local extra=${4:-} f n
	# Called as $(make_msg ...): numbered by the files already made.
	mkdir -p "$WORK/msg"
	n=$(find "$WORK/msg" -name '*.eml' | wc -l)
	N=$((n + 1))
	f=$WORK/msg/$N.eml
	{
		printf 'From: %s\n' "$from"
		printf 'To: Rcpt <rcpt@dest.example>\n'
		printf 'Subject: vdkim-exim-test %d (%s)\n' "$N" "$kind"
		printf 'Date: %s\n' "$(date -R)"
		printf 'Message-ID: <exim-test-%d-%d@%s>\n' "$N" "$$" "$SIGN_DOMAIN"
		printf 'MIME-Version: 1.0\n'
		[[ $vmta == default ]] || printf 'X-Virtual-MTA: %s\n' "$vmta"
		[[ -z $extra ]] || printf '%s\n' "$extra"
		case $kind in
		8bit)
			printf 'Content-Type: text/plain; charset=utf-8\n'
			printf 'Content-Transfer-Encoding: 8bit\n\n'
			printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln, \xe2\x82\xac 10,\n'
			printf 'a Latin-1 byte: \xe9, trailing spaces:   \n'
			printf '\tand a tab line.\n\n\n'
			;;
		longline | toolong)
			printf 'Content-Type: text/plain\n\n'
			printf 'A long line follows.\n'
			"$PY" -c 'import sys; sys.stdout.write("x" * int(sys.argv[1]) + "\n")' \
			    "$( [[ $kind == longline ]] && echo 1200 || echo 70000)"
			printf 'And a short one.\n'
			;;
		big)
			printf 'Content-Type: text/plain\n\n'
			"$PY" -c '
import sys
line = "%06d the quick brown fox jumps over the lazy dog  twice\n"
sys.stdout.write("".join(line % i for i in range(190000)))
'
			;;
		*)
			printf 'Content-Type: text/plain\n\n'
			printf 'Hello from test %d.\n..a line starting with dots\n' "$N"
			printf 'spaces  inside   and at the end  \n\n'
			;;
		esac
	} >"$f"
	echo "$f"
}

subject_of() { # FILE
	sed -n 's/^Subject: //p' "$1" | head -n 1
}

# delivered SUBJECT: the Maildir file B delivered with that subject.
delivered() {
	grep -lF "Subject: $1" "$MAILDIR"/new/* 2>/dev/null | head -n 1
}

# wait_delivered FILE...: waits (30 s at most) until B has delivered all
# of them; the copies' paths in COPIES.
wait_delivered() {
	local deadline=$((SECONDS + 30)) f c missing
	while :; do
		COPIES=()
		missing=0
		for f in "$@"; do
			c=$(delivered "$(subject_of "$f")")
			if [[ -n $c ]]; then COPIES+=("$c"); else missing=1; fi
		done
		((missing == 0)) && return 0
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# verify_copy WHAT COPY: Exim's verifier, dkimpy and Mail::DKIM all say
# pass for the test key.
verify_copy() {
	local what=$1 copy=$2 out
	if grep -q "^X-Exim-DKIM: d=$SIGN_DOMAIN s=$SELECTOR a=rsa-sha256 status=pass" "$copy"; then
		ok "$what: Exim's verifier: pass"
	else
		bad "$what: Exim's verifier: pass" "$(grep -i '^X-Exim-DKIM' "$copy" || echo 'no X-Exim-DKIM field (no signature?)')"
	fi
	if out=$("$PY" "$ROOT/tests/peers/dkimpy_peer.py" verify "$copy" 2>&1) &&
	    [[ $out == *"dkim=pass d=$SIGN_DOMAIN s=$SELECTOR"* ]]; then
		ok "$what: dkimpy: pass"
	else
		bad "$what: dkimpy: pass" "$out"
	fi
	if out=$(perl "$ROOT/tests/peers/maildkim_peer.pl" verify "$copy" 2>&1) &&
	    [[ $out == *"dkim=pass d=$SIGN_DOMAIN s=$SELECTOR"* ]]; then
		ok "$what: Mail::DKIM: pass"
	else
		bad "$what: Mail::DKIM: pass" "$out"
	fi
	[[ -n ${VERIFY_OPENDKIM:-} ]] || return 0
	if out=$(timeout 30 "$BUILD/peers/opendkim_peer" verify "$copy" 2>&1); then
		ok "$what: libopendkim: pass"
	else
		bad "$what: libopendkim: pass" "$out"
	fi
}

# send WHAT [smtp_send options] FILE...: one session; every reply 250.
send() {
	local what=$1 out
	shift
	if out=$(timeout 120 "$PY" "$ROOT/tests/exim/smtp_send.py" \
	    --port "$A_PORT" "$@" 2>&1); then
		ok "$what: accepted"
		return 0
	fi
	bad "$what: accepted" "$out" "$(exim_log_tail 5 "$A_DIR")"
	return 1
}

# signed_and_verified WHAT FILE...: B got them all, each verifies.
signed_and_verified() {
	local what=$1 i
	shift
	if ! wait_delivered "$@"; then
		bad "$what: delivered to B" "$(exim_log_tail 8 "$A_DIR")"
		return 1
	fi
	ok "$what: delivered to B"
	for i in "${!COPIES[@]}"; do
		verify_copy "$what (#$((i + 1)))" "${COPIES[i]}"
	done
}

a_log_has() { # PATTERN (grep -E) in A's main log
	grep -qE "$1" "$A_DIR/log/mainlog" 2>/dev/null
}

# wait_a_log PATTERN: 30 s at most.
wait_a_log() {
	local deadline=$((SECONDS + 30))
	until a_log_has "$1"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

stage_tests() {
	local stage=$1 f m1 m2 m3 out copy id n
	start_signer "$stage" plain

	# One message with swaks.
	f=$(make_msg text default)
	if out=$(timeout 60 swaks --server "127.0.0.1:$A_PORT" --timeout 30 \
	    --from "sender@$SIGN_DOMAIN" --to rcpt@dest.example \
	    --data "@$f" 2>&1) && [[ $out == *"<-  250 OK id="* ]]; then
		ok "$stage: swaks: accepted"
	else
		bad "$stage: swaks: accepted" "$out"
	fi
	signed_and_verified "$stage: swaks" "$f"
	if a_log_has "vdkim: [^ ]+ ${stage/pre/pre-} vmta=default signed d=$SIGN_DOMAIN s=$SELECTOR"; then
		ok "$stage: A logs the signature"
	else
		bad "$stage: A logs the signature" "$(exim_log_tail 8 "$A_DIR")"
	fi

	# Three messages in one session.
	m1=$(make_msg text default)
	m2=$(make_msg text default)
	m3=$(make_msg text default)
	send "$stage: three in one session" "$m1" "$m2" "$m3" &&
	    signed_and_verified "$stage: three in one session" "$m1" "$m2" "$m3"

	# 8-bit content.
	f=$(make_msg 8bit default)
	if send "$stage: 8-bit" --8bit "$f" &&
	    signed_and_verified "$stage: 8-bit" "$f"; then
		if grep -q $'K\xc3\xb6ln' "${COPIES[0]}"; then
			ok "$stage: 8-bit bytes arrive unchanged"
		else
			bad "$stage: 8-bit bytes arrive unchanged" "${COPIES[0]}"
		fi
	fi

	# Over 10 MB, sent with BDAT (CHUNKING in), relayed with BDAT (B
	# offers CHUNKING).
	f=$(make_msg big default)
	if send "$stage: 10 MB with BDAT" --bdat "$f" &&
	    signed_and_verified "$stage: 10 MB with BDAT" "$f"; then
		local size
		size=$(stat -c %s "${COPIES[0]}")
		if ((size > 10 * 1024 * 1024)); then
			ok "$stage: the delivered copy is over 10 MB ($size bytes)"
		else
			bad "$stage: the delivered copy is over 10 MB" "$size bytes"
		fi
	fi
	# Two more through BDAT in one session.
	m1=$(make_msg text default)
	m2=$(make_msg 8bit default)
	send "$stage: BDAT session" --bdat --chunk 100 --8bit "$m1" "$m2" &&
	    signed_and_verified "$stage: BDAT session" "$m1" "$m2"
	id=$(grep -F "$(subject_of "$m2")" "$A_DIR/log/mainlog" | head -n 1 |
	    awk '{print $3}')
	if [[ -n $id ]] && grep -E "^.* $id => .* K C=" "$A_DIR/log/mainlog" |
	    grep -q .; then
		ok "$stage: A relayed with BDAT (K in its delivery line)"
	else
		bad "$stage: A relayed with BDAT (K in its delivery line)" \
		    "$(grep -F "$id" "$A_DIR/log/mainlog")"
	fi

	# X-DKIM-Options never leaves (and this source may not use it).
	removed_after_signing "$stage: X-DKIM-Options" X-DKIM-Options \
	    "X-DKIM-Options: s=other; d=$SIGN_DOMAIN"

	# A virtual MTA that does not sign: delivered unsigned, reason logged.
	f=$(make_msg text nosign)
	if send "$stage: nosign VMTA" "$f" && wait_delivered "$f"; then
		if ! grep -qi '^DKIM-Signature:' "${COPIES[0]}" &&
		    ! grep -qi '^X-Exim-DKIM:' "${COPIES[0]}"; then
			ok "$stage: nosign VMTA: delivered unsigned"
		else
			bad "$stage: nosign VMTA: delivered unsigned" "${COPIES[0]}"
		fi
	else
		bad "$stage: nosign VMTA: delivered" "$(exim_log_tail 8 "$A_DIR")"
	fi
	if a_log_has "vdkim: [^ ]+ ${stage/pre/pre-} vmta=nosign unsigned reason=signing-disabled: "; then
		ok "$stage: nosign VMTA: reason in Exim's log"
	else
		bad "$stage: nosign VMTA: reason in Exim's log" "$(exim_log_tail 8 "$A_DIR")"
	fi

	# dkim-require and no key for the From domain.
	f=$(make_msg text strict "Other <x@nokey.example>")
	if [[ $stage == prequeue ]]; then
		out=$(timeout 60 "$PY" "$ROOT/tests/exim/smtp_send.py" \
		    --port "$A_PORT" --from x@nokey.example "$f" 2>&1)
		if [[ $out == *" 451 "* ]]; then
			ok "$stage: dkim-require, no key: 451"
		else
			bad "$stage: dkim-require, no key: 451" "$out"
		fi
		if a_log_has "vdkim: [^ ]+ pre-queue vmta=strict deferred reason=no-key: " &&
		    a_log_has "temporarily rejected after DATA: .*vdkim: deferred \(no-key\): "; then
			ok "$stage: dkim-require, no key: reason in Exim's log"
		else
			bad "$stage: dkim-require, no key: reason in Exim's log" "$(exim_log_tail 8 "$A_DIR")"
		fi
	else
		send "$stage: dkim-require, no key: accepted for later" \
		    --from x@nokey.example "$f"
		id=$(grep -F "$(subject_of "$f")" "$A_DIR/log/mainlog" |
		    head -n 1 | awk '{print $3}')
		if [[ -n $id ]] && wait_a_log "$id == rcpt@dest.example .*vdkim: deferred \(no-key\): "; then
			ok "$stage: dkim-require, no key: delivery deferred with the reason"
		else
			bad "$stage: dkim-require, no key: delivery deferred with the reason" "$(exim_log_tail 8 "$A_DIR")"
		fi
		n=$(/usr/sbin/exim4 -C "$A_CONF" -DSPOOL="$A_DIR/spool" \
		    -DLOGDIR="$A_DIR/log" -bpc 2>/dev/null)
		if [[ $n == 1 ]]; then
			ok "$stage: dkim-require, no key: the message waits in the queue"
		else
			bad "$stage: dkim-require, no key: the message waits in the queue" "queue: $n"
		fi
	fi
	sleep 1 # what B would have got by now
	if [[ -z $(delivered "$(subject_of "$f")") ]]; then
		ok "$stage: dkim-require, no key: nothing left unsigned"
	else
		bad "$stage: dkim-require, no key: nothing left unsigned"
	fi
	removed_field_tests "$stage"
	two_domain_tests "$stage"
	long_line_tests "$stage"
	stop_signer
}

# removed_after_signing WHAT FIELD HEADER_LINE: a message with that
# header line goes through A; B's copy verifies and has no FIELD.  The
# copy's path in COPY ("" when none came).
removed_after_signing() {
	local what=$1 field=$2 f
	f=$(make_msg text default "" "$3")
	send "$what" "$f" && signed_and_verified "$what" "$f"
	COPY=$(delivered "$(subject_of "$f")")
	if [[ -n $COPY ]] && ! grep -qi "^$field:" "$COPY"; then
		ok "$what: $field removed"
	else
		bad "$what: $field removed" "${COPY:-not delivered}"
	fi
}

# A field the example removes after vdkim has signed (REMOVED_FIELDS:
# the DATA ACL's remove_header before queueing, the transport's
# headers_remove at delivery): gone at B, and the signature verifies.
removed_field_tests() {
	local stage=$1 copy
	removed_after_signing "$stage: removed after signing" Reply-To \
	    "Reply-To: Replies <replies@$SIGN_DOMAIN>"
	copy=$COPY
	if [[ -n $copy ]] && ! grep -A3 -i '^DKIM-Signature:' "$copy" |
	    tr -d ' \t\n' | grep -qi 'h=[^;]*reply-to'; then
		ok "$stage: Reply-To not in h="
	else
		bad "$stage: Reply-To not in h=" "$(grep -A3 -i '^DKIM-Signature:' "${copy:-/dev/null}")"
	fi
}

# copies_of SUBJECT: B's copies of a message, one file per recipient.
copies_of() {
	grep -lF "Subject: $1" "$MAILDIR"/new/* 2>/dev/null
}

# One message to two domains.  Before queueing it is signed once, for
# all recipients (the first one's domain decides): B gets it in one
# transaction, and both copies verify.  At delivery each domain gets its
# own transaction and decision (the example's multi_domain = false): the
# copy to nosign.example leaves unsigned (the policy's domain block for
# that destination), the other verifies.  A delivery batching both
# domains would have neither $domain nor a per-domain decision.
two_domain_tests() {
	local stage=$1 f subj deadline copies=() c c1="" c2=""
	local what="$stage: two recipient domains"
	f=$(make_msg text default)
	subj=$(subject_of "$f")
	send "$what" --to rcpt@dest.example --to rcpt@nosign.example "$f" ||
	    return
	deadline=$((SECONDS + 30))
	while mapfile -t copies < <(copies_of "$subj") && ((${#copies[@]} < 2)) &&
	    ((SECONDS < deadline)); do
		sleep 0.2
	done
	if ((${#copies[@]} != 2)); then
		bad "$what: two copies delivered to B" "${#copies[@]} copies" \
		    "$(exim_log_tail 8 "$A_DIR")"
		return
	fi
	ok "$what: two copies delivered to B"
	if [[ $stage == prequeue ]]; then
		verify_copy "$what (#1)" "${copies[0]}"
		verify_copy "$what (#2)" "${copies[1]}"
		return
	fi
	# B's Received: names the recipient when a transaction has one.
	for c in "${copies[@]}"; do
		grep -qF "for rcpt@dest.example;" "$c" && c1=$c
		grep -qF "for rcpt@nosign.example;" "$c" && c2=$c
	done
	if [[ -z $c1 || -z $c2 ]]; then
		bad "$what: one transaction per domain" \
		    "$(grep -h -A3 '^Received: from' "${copies[@]}")"
		return
	fi
	ok "$what: one transaction per domain"
	verify_copy "$what (dest.example)" "$c1"
	if ! grep -qi '^DKIM-Signature:' "$c2" &&
	    a_log_has "vdkim: [^ ]+ pre-delivery vmta=default unsigned reason=signing-disabled: "; then
		ok "$what: nosign.example's own decision (unsigned, reason logged)"
	else
		bad "$what: nosign.example's own decision (unsigned, reason logged)" \
		    "$(grep -i '^DKIM-Signature:' "$c2")" "$(exim_log_tail 8 "$A_DIR")"
	fi
}

# A body line of 1200 characters from the client: relayed and verified,
# not bounced by the smtp transport's message_linelength_limit; one of
# 70,000 characters (over the examples' MAX_LINE_LENGTH) is refused at
# DATA instead of bouncing later.
long_line_tests() {
	local stage=$1 f out
	f=$(make_msg longline default)
	COPIES=()
	send "$stage: a 1200-character line" "$f" &&
	    signed_and_verified "$stage: a 1200-character line" "$f"
	if [[ -n ${COPIES[0]:-} ]] && grep -qE '^x{1200}$' "${COPIES[0]}"; then
		ok "$stage: the 1200-character line arrives whole"
	else
		bad "$stage: the 1200-character line arrives whole" "$(exim_log_tail 8 "$A_DIR")"
	fi
	f=$(make_msg toolong default)
	out=$(timeout 60 "$PY" "$ROOT/tests/exim/smtp_send.py" \
	    --port "$A_PORT" "$f" 2>&1)
	if [[ $out == *" 550 "*"longer than 65536 characters"* ]]; then
		ok "$stage: a 70,000-character line: refused at DATA"
	else
		bad "$stage: a 70,000-character line: refused at DATA" "$out"
	fi
}

# The data file in a split spool and a named queue.
layout_tests() {
	local stage=$1 f dirs
	start_signer "$stage" split-named
	f=$(make_msg text default)
	send "$stage, split spool + named queue" "$f" &&
	    signed_and_verified "$stage, split spool + named queue" "$f"
	dirs=$(find "$A_DIR/spool/vdkimq/input" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
	if ((dirs > 0)); then
		ok "$stage: the message went through spool/vdkimq/input/<subdir>"
	else
		bad "$stage: the message went through spool/vdkimq/input/<subdir>" "$(find "$A_DIR/spool" -maxdepth 3)"
	fi
	stop_signer
}

# hsm_tests STAGE: A signs with the SoftHSM2 token's key (vdkim-hsm.conf,
# dkim-require) loaded in its daemon; three SMTP sessions of two messages
# each, every session a process forked from the daemon (and, at
# delivery, each delivery one forked from that).
hsm_tests() {
	local stage=$1 what="$stage, SoftHSM2" msgs=() f i n pids
	local SELECTOR=$HSM_SELECTOR VERIFY_OPENDKIM=1
	start_signer "$stage" hsm
	if grep -q libsofthsm2 "/proc/$EXIM_PID/maps" 2>/dev/null; then
		ok "$what: the daemon loaded the config and opened the token"
	else
		bad "$what: the daemon loaded the config and opened the token" \
		    "$(exim_log_tail 8 "$A_DIR")"
	fi
	for ((i = 0; i < 3; i++)); do
		f=$(make_msg text default)
		msgs+=("$f")
		f=$(make_msg 8bit default)
		msgs+=("$f")
		send "$what: session $((i + 1))" --8bit "${msgs[@]: -2}"
	done
	signed_and_verified "$what" "${msgs[@]}"
	n=0
	for f in "${COPIES[@]}"; do
		grep -qi "^DKIM-Signature:" "$f" && n=$((n + 1))
	done
	if ((${#COPIES[@]} == ${#msgs[@]} && n == ${#msgs[@]})); then
		ok "$what: all ${#msgs[@]} messages arrived signed"
	else
		bad "$what: all ${#msgs[@]} messages arrived signed" \
		    "${#COPIES[@]} delivered, $n with a DKIM-Signature"
	fi
	# One log line per message, each from a forked process.
	n=$(grep -cE "vdkim: [^ ]+ ${stage/pre/pre-} vmta=default signed d=$SIGN_DOMAIN s=$HSM_SELECTOR" \
	    "$A_DIR/log/mainlog")
	pids=$(grep -E "vdkim: [^ ]+ ${stage/pre/pre-} vmta=default signed " \
	    "$A_DIR/log/mainlog" | sed -n 's/^[^[]*\[\([0-9]*\)\].*/\1/p' | sort -u)
	if ((n == ${#msgs[@]})) && (($(wc -w <<<"$pids") >= 2)) &&
	    ! grep -qw "$EXIM_PID" <<<"$pids"; then
		ok "$what: each message signed in a forked child ($(wc -w <<<"$pids") pids, not the daemon's)"
	else
		bad "$what: each message signed in a forked child" "$n lines," \
		    "pids: $pids, daemon: $EXIM_PID" "$(exim_log_tail 8 "$A_DIR")"
	fi
	if a_log_has "vdkim: .* (unsigned|deferred) reason=" ||
	    grep -qv "exim user lost privilege" "$A_DIR/log/paniclog" 2>/dev/null; then
		bad "$what: no message unsigned or deferred, nothing in the panic log" \
		    "$(exim_log_tail 8 "$A_DIR")"
	else
		ok "$what: no message unsigned or deferred, nothing in the panic log"
	fi
	stop_signer
}

# B does not offer CHUNKING: A relays with DATA.
no_chunking_tests() {
	local stage=$1 f id
	start_signer "$stage" plain
	f=$(make_msg 8bit default)
	send "$stage, no CHUNKING at B" --8bit "$f" &&
	    signed_and_verified "$stage, no CHUNKING at B" "$f"
	f=$(make_msg big default)
	send "$stage, no CHUNKING at B, 10 MB" --bdat "$f" &&
	    signed_and_verified "$stage, no CHUNKING at B, 10 MB" "$f"
	id=$(grep -F "$(subject_of "$f")" "$A_DIR/log/mainlog" | head -n 1 |
	    awk '{print $3}')
	if [[ -n $id ]] && grep -E " $id => " "$A_DIR/log/mainlog" | grep -q . &&
	    ! grep -E " $id => .* K C=" "$A_DIR/log/mainlog" | grep -q .; then
		ok "$stage: A relayed with DATA (no K in its delivery line)"
	else
		bad "$stage: A relayed with DATA (no K in its delivery line)" \
		    "$(grep -F "$id" "$A_DIR/log/mainlog")"
	fi
	stop_signer
}

if [[ ${1-} == --inner ]]; then
	inner "$2" "$3"
fi

# ================================================================ outer

if (($# != 1)); then
	echo "usage: bash tests/exim/run.sh BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd) || fatal "build directory $1 exists"
[[ $(id -u) == 0 ]] || fatal "the Exim test needs root (network namespace, exim -C)"
[[ -x /usr/sbin/exim4 ]] || fatal "/usr/sbin/exim4 missing (exim4-daemon-heavy)"
command -v swaks >/dev/null || fatal "swaks missing"
[[ -f $BUILD/vdkim.so && -x $BUILD/vdkimctl && -x $BUILD/peers/opendkim_peer ]] ||
    fatal "vdkim.so, vdkimctl and peers/opendkim_peer built in $BUILD"
for c in softhsm2-util pkcs11-tool; do
	command -v "$c" >/dev/null || fatal "$c missing (scripts/deps.sh)"
done
"$PY" -c 'import dkim, dns.resolver' 2>/dev/null || fatal "dkimpy missing (python3-dkim)"
perl -MMail::DKIM::Verifier -e1 2>/dev/null || fatal "Mail::DKIM missing (libmail-dkim-perl)"

WORK=""
cleanup() {
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ -n ${EXIM_TEST_KEEP:-} ]]; then
			echo "exim: work folder kept: $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
}
# shellcheck source=../lib/dns_netns.sh
. "$ROOT/tests/lib/dns_netns.sh"
# shellcheck disable=SC2034 # called by dns_netns.sh's EXIT trap
DNS_NETNS_EXIT_HOOK=cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-exim.XXXXXX") || fatal "mktemp"
chmod 0755 "$WORK" # Exim runs as its own user and must reach its folders
mkdir -p "$WORK/keys"
install -d -m 0755 "$WORK/bin"
install -m 0755 "$BUILD/vdkim.so" "$BUILD/vdkimctl" "$WORK/bin/" ||
    fatal "copy vdkim.so and vdkimctl to $WORK/bin"
"$BUILD/vdkimctl" keygen --selector "$SELECTOR" --domain "$SIGN_DOMAIN" \
    --dir "$WORK/keys" >/dev/null || fatal "vdkimctl keygen"
# The key is read by the Exim user, as in a real installation.
EXIM_USER=$(/usr/sbin/exim4 -C /dev/null -bP exim_user | sed 's/.*= //')
chown -R "$EXIM_USER:" "$WORK/keys"
chmod 0700 "$WORK/keys"

# A SoftHSM2 token (SOFTHSM2_CONF exported for the inner part and Exim)
# with its key pair made inside it, its public key published as
# HSM_SELECTOR; the token folder and PIN file the Exim user's own.
# shellcheck source=../lib/devices.sh
. "$ROOT/tests/lib/devices.sh"
dev_softhsm_init "$WORK/hsm" vdkim "$HSM_PIN" || fatal "SoftHSM2 token"
(umask 077 && echo "$HSM_PIN" >"$WORK/hsm/pin")
cat >"$WORK/vdkim-hsm.conf" <<EOF
# tests/exim/run.sh: the key in a SoftHSM2 token (libp11's ENGINE)
openssl-engine hsm {
    engine-id = "pkcs11"
    module-path = "$DEV_SOFTHSM_MODULE"
    pin-file = "$WORK/hsm/pin"
    retry-interval = 1
    timeout = 5
}
domain-key = "$HSM_SELECTOR,$SIGN_DOMAIN,pkcs11:token=vdkim;object=dkim;type=private"
domain "*" {
    dkim-sign = yes
    dkim-require = yes
}
EOF
chmod 0644 "$WORK/vdkim-hsm.conf"
"$BUILD/vdkimctl" dns-record --config "$WORK/vdkim-hsm.conf" \
    --key "pkcs11:token=vdkim;object=dkim;type=private" \
    --selector "$HSM_SELECTOR" --domain "$SIGN_DOMAIN" \
    >"$WORK/keys/$HSM_SELECTOR.txt" || fatal "dns-record from the token"
chown -R "$EXIM_USER:" "$WORK/hsm"
chmod 0700 "$WORK/hsm"
if ! out=$(runuser -u "$EXIM_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" \
    "$WORK/bin/vdkimctl" config-test --config "$WORK/vdkim-hsm.conf" 2>&1); then
	fatal "the Exim user can open the token through the HSM config" "$out"
fi

dns_netns_init || fatal "dns_netns_init"
dns_netns_add_zone "$WORK/keys/$SELECTOR.txt" "$WORK/keys/$HSM_SELECTOR.txt" ||
    fatal "add the keys' TXT records"
dns_netns_start || fatal "dnsmasq starts in the namespace"

dns_netns_exec bash "${BASH_SOURCE[0]}" --inner "$BUILD" "$WORK"
