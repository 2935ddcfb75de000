#!/usr/bin/env bash
# tests/policy/run.sh BUILD_DIR - vdkimctl's policy commands (config-test,
# explain, sign --config) on the example configs of conf-examples/.
#
#   bash tests/policy/run.sh build        (the Makefile's "policy-cli" step)
#
# Needs BUILD_DIR/vdkimctl only: no root, no network, no DNS (signatures
# are checked with "vdkimctl verify --key SEL._domainkey.DOM=FILE").
#
# 1. every conf-examples/*.conf is copied to a temporary folder, its key
#    paths (/etc/vdkim/keys/...) moved there, and every key its domain-key
#    lines name is made with "vdkimctl keygen" (an Ed25519 key when the
#    key file's name says ed25519, else RSA 2048); config-test must pass;
# 2. per example, messages go through explain and sign --config: the
#    verdict, d=/s=, the signatures (verified), the message otherwise
#    unchanged, X-DKIM-Options removed, NOSIGN (message unchanged, reason
#    on stderr, exit 0), DEFER (exit 75, nothing written), a large header
#    and body (streaming across chunks), bad input (nothing written);
# 3. broken configs: a bad line (exit 78, FILE:LINE), a group-writable key
#    and a missing key (exit 78, naming the key file), a missing config
#    (exit 66); sign and explain load only the key the decision picks (a
#    broken key file of another domain does not stop them; the chosen
#    one broken is named), while config-test reports it;
# 4. files that are not files: a FIFO at a --key, config, domain-key or
#    state-file path, a folder or a NUL byte as a key record (refused at
#    once, naming the file); the config limits (a value over 64 KiB, over
#    1,000,000 sections: FILE:LINE; 100,000 domain-key lines pass);
# 4b. keys the MTA's user cannot read: "config-test --user NAME" as root,
#    for a scratch system user and group made for the test (useradd,
#    groupadd; removed at the end): a root-only key fails (exit 78, naming
#    the file and the reason), a key from "keygen --group NAME" passes.
#    Needs root; without it these checks are reported as not run (and
#    not counted);
# 4c. the exit-code convention (sysexits) and the words of each failure:
#    a table of every command's missing value, unknown option, missing
#    argument, no input and config cases; an empty message;
# 5. prints one line per failed check and ends with "N passed, N failed";
#    exits 1 when anything failed.
#
# Environment: POLICY_KEEP=1 keeps the work folder (its path is printed);
# POLICY_VERBOSE=1 prints every check.
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLES=$ROOT/conf-examples
TIMEOUT=60 # seconds for one vdkimctl run

# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${POLICY_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"
WORK=""

if [[ $# -ne 1 ]]; then
	echo "usage: bash tests/policy/run.sh BUILD_DIR" >&2
	exit 2
fi
CTL=$(cd "$1" 2>/dev/null && pwd)/vdkimctl
if [[ ! -x $CTL ]]; then
	echo "policy: $1/vdkimctl not found (make $1/vdkimctl first)" >&2
	exit 2
fi

# ------------------------------------------------------------ reporting



# check COND-RESULT "what": COND-RESULT is 0 for success.
check() {
	local rc=$1 what=$2
	shift 2
	if [[ $rc -eq 0 ]]; then
		ok "$what"
	else
		bad "$what" "$@"
	fi
}


SCRATCH_USER=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [[ -n $SCRATCH_USER ]]; then
		userdel "$SCRATCH_USER" 2>/dev/null
		groupdel "$SCRATCH_USER" 2>/dev/null
	fi
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ -n ${POLICY_KEEP:-} ]]; then
			echo "policy: work folder kept: $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-policy.XXXXXX") || exit 2
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- running

# ctl NAME ARGS... < input: runs vdkimctl; NAME.out, NAME.err, RC.
ctl() {
	local name=$1
	shift
	timeout "$TIMEOUT" "$CTL" "$@" >"$name.out" 2>"$name.err"
	RC=$?
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
	grep -qF -- "$2" "$1"
}

# sigcount FILE: how many DKIM-Signature fields the file starts with.
sigcount() {
	grep -c '^DKIM-Signature:' "$1"
}

# same_after_sigs OUT EXPECTED: OUT is signature fields followed by
# exactly EXPECTED.
same_after_sigs() {
	local out=$1 exp=$2 osz esz
	osz=$(stat -c %s "$out")
	esz=$(stat -c %s "$exp")
	((osz >= esz)) || return 1
	cmp -s <(tail -c "$esz" "$out") "$exp" || return 1
	head -c $((osz - esz)) "$out" | head -n 1 | grep -q '^DKIM-Signature:' ||
	    ((osz == esz))
}

# verify OUT NAME=KEY...: every signature passes with the keys given.
verify() {
	local out=$1 args=() k
	shift
	for k in "$@"; do
		args+=(--key "$k")
	done
	timeout "$TIMEOUT" "$CTL" verify "${args[@]}" <"$out" >"$out.verify" 2>&1 &&
	    ! grep -qv '^dkim=pass' "$out.verify"
}

# ------------------------------------------------------------ examples

# setup NAME: WORK/NAME/vdkim.conf with keys under WORK/NAME/keys.  Sets
# CONF and KEYS.
setup() {
	local name=$1 dir=$WORK/$1 line sel dom path type scratch n=0
	mkdir -p "$dir/keys"
	CONF=$dir/vdkim.conf
	KEYS=$dir/keys
	sed "s#/etc/vdkim/keys#$KEYS#g" "$EXAMPLES/$name.conf" >"$CONF"
	while IFS= read -r line; do
		IFS=, read -r sel dom path <<<"$line"
		[[ -e $path ]] && continue
		type=rsa
		[[ $(basename "$path") == *ed25519* ]] && type=ed25519
		scratch=$dir/scratch.$((n++))
		mkdir -p "$scratch" "$(dirname "$path")"
		if ! timeout "$TIMEOUT" "$CTL" keygen --type "$type" \
		    --selector "$sel" --domain "$dom" --dir "$scratch" \
		    >"$scratch/out" 2>&1 ||
		    ! mv "$scratch/$sel.private" "$path"; then
			bad "$name: keygen for $sel,$dom" "$scratch/out"
			continue
		fi
	done < <(grep -o 'domain-key *= *"[^"]*"' "$CONF" |
	    sed 's/^[^"]*"//; s/"$//' | sort -u)
	ctl "$dir/config-test" config-test --config "$CONF"
	[[ $RC -eq 0 ]] && [[ $(tail -n 1 "$dir/config-test.out") == "config OK" ]]
	check $? "$name: config-test passes" "$dir/config-test.out" \
	    "$dir/config-test.err"
}

# msg FILE FROM [EXTRA-FIELD...]: a small message with CRLF line ends.
msg() {
	local file=$1 from=$2 f
	shift 2
	{
		printf 'From: %s\r\n' "$from"
		printf 'To: Someone <someone@gmail.example>\r\n'
		printf 'Subject: Policy test\r\n'
		printf 'Date: Sat, 23 Nov 2024 10:00:00 +0000\r\n'
		printf 'Message-ID: <%s@test.example>\r\n' "$RANDOM$RANDOM"
		for f in "$@"; do
			printf '%s\r\n' "$f"
		done
		printf 'MIME-Version: 1.0\r\n'
		printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
		printf 'Hello,\r\n\r\nthis is a test of the signing policy.\r\n'
	} >"$file"
}

# expect_signed NAME WHAT D S VERIFY-KEYS... (after "ctl NAME sign ..."
# on input NAME.in): exit 0, d=/s=, verified, message otherwise the same
# as NAME.exp (NAME.in when there is none).
expect_signed() {
	local name=$1 what=$2 d=$3 s=$4 exp
	shift 4
	exp=$name.exp
	[[ -f $exp ]] || exp=$name.in
	if [[ $RC -ne 0 ]]; then
		bad "$what: sign exits 0 (got $RC)" "$name.err"
		return
	fi
	ok "$what: sign exits 0"
	tr -d '\r\n\t ' <"$name.out" | grep -qF ";d=$d;" &&
	    tr -d '\r\n\t ' <"$name.out" | grep -qF ";s=$s;"
	check $? "$what: signed with d=$d s=$s" "$name.out"
	verify "$name.out" "$@"
	check $? "$what: the signature verifies" "$name.out.verify"
	same_after_sigs "$name.out" "$exp"
	check $? "$what: the message is otherwise unchanged" "$name.out"
}

# expect_unsigned NAME WHAT REASON (after "ctl NAME sign ..." on NAME.in):
# exit 0, the message unchanged, "not signed (REASON)" on stderr.
expect_unsigned() {
	local name=$1 what=$2 reason=$3
	[[ $RC -eq 0 ]] && cmp -s "$name.out" "$name.in" &&
	    has "$name.err" "not signed ($reason)"
	check $? "$what" "rc=$RC" "$name.err" "$name.out"
}

# ------------------------------------------------------ one-domain.conf

test_one_domain() {
	local d=$WORK/one-domain t
	setup one-domain
	local key=mail2024._domainkey.example.com=$KEYS/example.com/mail2024.private

	t=$d/plain
	msg "$t.in" 'Alice <alice@example.com>'
	ctl "$t.x" explain --config "$CONF" --vmta mta1 \
	    --rcpt-domain gmail.example <"$t.in"
	[[ $RC -eq 0 ]] && has "$t.x.out" "verdict: sign" &&
	    has "$t.x.out" "d=example.com s=mail2024 i=none" &&
	    has "$t.x.out" "expire-after:     1 week after signing (x=)" &&
	    has "$t.x.out" "signed here (h=): From, Subject, Date, Message-ID, To, MIME-Version, Content-Type"
	check $? "one-domain: explain says sign, d=example.com s=mail2024" \
	    "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta mta1 \
	    --rcpt-domain gmail.example <"$t.in"
	expect_signed "$t" "one-domain" example.com mail2024 "$key"
	grep -q 'x=' "$t.out"
	check $? "one-domain: x= is set (dkim-expire-after 7d)" "$t.out"

	# A subdomain of the key's domain: d= is the key's domain.
	t=$d/sub
	msg "$t.in" 'News <news@news.example.com>'
	ctl "$t" sign --config "$CONF" --vmta mta1 <"$t.in"
	expect_signed "$t" "one-domain subdomain" example.com mail2024 "$key"

	# Sender: wins over From: (sender-or-from).
	t=$d/sender
	msg "$t.in" 'Eve <eve@other.example>' 'Sender: list@example.com'
	ctl "$t" sign --config "$CONF" --vmta mta1 <"$t.in"
	expect_signed "$t" "one-domain Sender:" example.com mail2024 "$key"

	# LF line ends, no final line end.
	t=$d/lf
	printf 'From: alice@example.com\nTo: b@c.example\nSubject: lf\n\nline 1\nline 2' >"$t.in"
	ctl "$t" sign --config "$CONF" --vmta mta1 <"$t.in"
	printf '\n' | cat "$t.in" - >"$t.exp"
	expect_signed "$t" "one-domain LF, no final line end" example.com \
	    mail2024 "$key"

	# A header only (no empty line, no body).
	t=$d/nobody
	printf 'From: alice@example.com\r\nSubject: no body\r\n' >"$t.in"
	ctl "$t" sign --config "$CONF" --vmta mta1 <"$t.in"
	expect_signed "$t" "one-domain header only" example.com mail2024 "$key"

	# NOSIGN: no key for the From: domain; the message goes unchanged.
	t=$d/nokey
	msg "$t.in" 'Bob <bob@other.example>'
	ctl "$t.x" explain --config "$CONF" --vmta mta1 <"$t.in"
	[[ $RC -eq 1 ]] && has "$t.x.out" "verdict: nosign" &&
	    has "$t.x.out" "(no-key)" && has "$t.x.out" "why: " &&
	    has "$t.x.out" "to change: "
	check $? "one-domain: explain no-key exits 1 and says why" \
	    "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta mta1 <"$t.in"
	[[ $RC -eq 0 ]] && cmp -s "$t.out" "$t.in" &&
	    has "$t.err" "not signed (no-key)"
	check $? "one-domain: NOSIGN exits 0, message unchanged, reason on stderr" \
	    "rc=$RC" "$t.err"

	# NOSIGN by rule: dkim-sign no for one destination.
	t=$d/archive
	msg "$t.in" 'Alice <alice@example.com>'
	ctl "$t.x" explain --config "$CONF" --vmta mta1 \
	    --rcpt-domain archive.example.net <"$t.in"
	[[ $RC -eq 1 ]] && has "$t.x.out" "(signing-disabled)"
	check $? "one-domain: dkim-sign no for archive.example.net" \
	    "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta mta1 \
	    --rcpt-domain archive.example.net <"$t.in"
	[[ $RC -eq 0 ]] && cmp -s "$t.out" "$t.in" &&
	    has "$t.err" "not signed (signing-disabled)"
	check $? "one-domain: signing-disabled leaves the message unchanged" \
	    "rc=$RC" "$t.err"

	# Not signed, but X-DKIM-Options is removed all the same.
	t=$d/archive-xo
	msg "$t.in" 'Alice <alice@example.com>' 'X-DKIM-Options: s=mail2024'
	grep -v '^X-DKIM-Options:' "$t.in" >"$t.exp"
	ctl "$t" sign --config "$CONF" --vmta mta1 \
	    --rcpt-domain archive.example.net <"$t.in"
	[[ $RC -eq 0 ]] && cmp -s "$t.out" "$t.exp" &&
	    has "$t.err" "not signed (signing-disabled)"
	check $? "one-domain: NOSIGN removes X-DKIM-Options, nothing else" \
	    "rc=$RC" "$t.err" "$t.out"

	# An unknown VMTA.
	ctl "$t.u" explain --config "$CONF" --vmta nosuch <"$t.in"
	[[ $RC -eq 1 ]] && has "$t.u.out" "(unknown-vmta)"
	check $? "one-domain: unknown VMTA is unknown-vmta" "$t.u.out" "$t.u.err"

	# A large body, read in many chunks after the decision.
	t=$d/large
	{
		printf 'From: alice@example.com\r\nSubject: large\r\n\r\n'
		for ((i = 0; i < 40000; i++)); do
			printf 'line %06d of a large body, long enough to matter\r\n' "$i"
		done
	} >"$t.in"
	ctl "$t" sign --config "$CONF" --vmta mta1 <"$t.in"
	expect_signed "$t" "one-domain 2 MB body" example.com mail2024 "$key"

	# Too many header fields: an error, nothing written.
	t=$d/toomany
	{
		printf 'From: alice@example.com\r\n'
		for ((i = 0; i < 1100; i++)); do
			printf 'X-Filler-%d: x\r\n' "$i"
		done
		printf '\r\nbody\r\n'
	} >"$t.in"
	ctl "$t" sign --config "$CONF" --vmta mta1 <"$t.in"
	[[ $RC -eq 65 && ! -s $t.out ]] && has "$t.err" "header fields"
	check $? "one-domain: over 1000 header fields: exit 65, nothing written" \
	    "rc=$RC" "$t.err"
	ctl "$t.x" explain --config "$CONF" --vmta mta1 <"$t.in"
	[[ $RC -eq 65 ]]
	check $? "one-domain: explain on a bad header exits 65" "rc=$RC" \
	    "$t.x.err"

	# The explicit mode still works, and does not mix with --config.
	t=$d/explicit
	msg "$t.in" 'Alice <alice@example.com>'
	ctl "$t" sign --domain example.com --selector mail2024 \
	    --key "$KEYS/example.com/mail2024.private" <"$t.in"
	expect_signed "$t" "explicit sign" example.com mail2024 "$key"
	ctl "$t.mix" sign --config "$CONF" --vmta mta1 --domain example.com \
	    <"$t.in"
	[[ $RC -eq 64 && ! -s $t.mix.out ]] && has "$t.mix.err" "--config"
	check $? "sign: --config with --domain is refused" "$t.mix.err"
	ctl "$t.novmta" sign --config "$CONF" <"$t.in"
	[[ $RC -eq 64 && ! -s $t.novmta.out ]]
	check $? "sign: --config without --vmta is refused" "$t.novmta.err"
	ctl "$t.usage" explain --config "$CONF" <"$t.in"
	[[ $RC -eq 64 ]] && has "$t.usage.err" "--vmta NAME is missing"
	check $? "explain: without --vmta exits 64, saying it is missing" "$t.usage.err"
	ctl "$t.time" explain --config "$CONF" --vmta mta1 --time soon <"$t.in"
	[[ $RC -eq 64 ]]
	check $? "explain: a bad --time exits 64" "$t.time.err"
}

# ------------------------------------------------- esp-many-tenants.conf

test_esp() {
	local d=$WORK/esp-many-tenants t
	setup esp-many-tenants
	local acme=acme2024._domainkey.acme.example=$KEYS/acme.example/acme2024.private
	local news=acme-news._domainkey.acme.example=$KEYS/acme.example/acme-news.private
	local gx=gx1._domainkey.globex.example=$KEYS/globex.example/gx1.private
	local esp=esp2024._domainkey.esp-mail.example=$KEYS/esp-mail.example/esp2024.private

	# A tenant with its own key, on its own VMTA (pool acme).
	t=$d/acme
	msg "$t.in" 'Acme <news@acme.example>'
	ctl "$t" sign --config "$CONF" --vmta acme-2 --source smtp-submission \
	    <"$t.in"
	expect_signed "$t" "esp: tenant key" acme.example acme2024 "$acme"

	# A tenant without a key, on the shared pool: the ESP's identity.
	t=$d/shared
	msg "$t.in" 'Small Shop <hello@small-shop.example>'
	ctl "$t.x" explain --config "$CONF" --vmta shared-1 <"$t.in"
	[[ $RC -eq 0 ]] && has "$t.x.out" "d=esp-mail.example s=esp2024" &&
	    has "$t.x.out" "not-aligned"
	check $? "esp: explain: fallback identity, not aligned" "$t.x.out" \
	    "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta shared-1 <"$t.in"
	expect_signed "$t" "esp: fallback identity" esp-mail.example esp2024 \
	    "$esp"
	has "$t.err" "not-aligned"
	check $? "esp: sign notes not-aligned on stderr" "$t.err"

	# DEFER: dkim-require, no key, no fallback on the acme pool.
	t=$d/defer
	msg "$t.in" 'Someone <x@unknown.example>'
	ctl "$t.x" explain --config "$CONF" --vmta acme-1 <"$t.in"
	[[ $RC -eq 2 ]] && has "$t.x.out" "verdict: defer" &&
	    has "$t.x.out" "(no-key)"
	check $? "esp: explain DEFER exits 2" "rc=$RC" "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta acme-1 <"$t.in"
	[[ $RC -eq 75 && ! -s $t.out ]] && has "$t.err" "deferred (no-key)"
	check $? "esp: DEFER exits 75, writes nothing, says why" "rc=$RC" \
	    "$t.err"

	# X-DKIM-Options from a source allowed to give them.
	t=$d/xo
	msg "$t.in" 'Globex <mail@globex.example>' \
	    'X-DKIM-Options: key-list=tenant-globex'
	grep -v '^X-DKIM-Options:' "$t.in" >"$t.exp"
	ctl "$t.x" explain --config "$CONF" --vmta shared-2 --source api \
	    <"$t.in"
	[[ $RC -eq 0 ]] && has "$t.x.out" "d=globex.example s=gx1" &&
	    has "$t.x.out" "X-DKIM-Options removed"
	check $? "esp: explain: X-DKIM-Options key-list honoured, removed" \
	    "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta shared-2 --source api <"$t.in"
	expect_signed "$t" "esp: X-DKIM-Options key-list" globex.example gx1 \
	    "$gx"
	! grep -qi 'X-DKIM-Options' "$t.out"
	check $? "esp: X-DKIM-Options removed from the output" "$t.out"

	t=$d/xo-sel
	msg "$t.in" 'Acme <news@acme.example>' \
	    'X-DKIM-Options: key-list=tenant-acme; s=acme-news'
	grep -v '^X-DKIM-Options:' "$t.in" >"$t.exp"
	ctl "$t" sign --config "$CONF" --vmta shared-1 --source api <"$t.in"
	expect_signed "$t" "esp: X-DKIM-Options s=" acme.example acme-news \
	    "$news"

	# X-DKIM-Options from a source that may not: ignored, still removed.
	t=$d/xo-refused
	msg "$t.in" 'Acme <news@acme.example>' \
	    'X-DKIM-Options: key-list=tenant-acme; s=acme-news'
	grep -v '^X-DKIM-Options:' "$t.in" >"$t.exp"
	ctl "$t.x" explain --config "$CONF" --vmta acme-1 \
	    --source smtp-submission <"$t.in"
	[[ $RC -eq 0 ]] && has "$t.x.out" "x-dkim-options-refused" &&
	    has "$t.x.out" "d=acme.example s=acme2024"
	check $? "esp: explain: X-DKIM-Options refused for smtp-submission" \
	    "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta acme-1 --source smtp-submission \
	    <"$t.in"
	expect_signed "$t" "esp: refused X-DKIM-Options" acme.example acme2024 \
	    "$acme"

	# A header over one read chunk, X-DKIM-Options past it, a large body.
	t=$d/bighead
	{
		printf 'From: Globex <mail@globex.example>\r\n'
		for ((i = 0; i < 600; i++)); do
			printf 'X-Filler-%03d: %0180d\r\n' "$i" 0
		done
		printf 'X-DKIM-Options: key-list=tenant-globex\r\n'
		printf 'Subject: big header\r\n'
		printf 'X-DKIM-Options:\r\n key-list=tenant-globex\r\n'
		printf '\r\n'
		for ((i = 0; i < 20000; i++)); do
			printf 'body line %06d .......................................\r\n' "$i"
		done
	} >"$t.in"
	awk 'BEGIN { skip = 0 }
	    /^X-DKIM-Options:/ { skip = 1; next }
	    skip && /^[ \t]/ { next }
	    { skip = 0; print }' "$t.in" >"$t.exp"
	ctl "$t" sign --config "$CONF" --vmta shared-1 --source api <"$t.in"
	expect_signed "$t" "esp: 110 kB header, folded X-DKIM-Options" \
	    globex.example gx1 "$gx"

	# A destination with its own rule: l= added.
	t=$d/lists
	msg "$t.in" 'Acme <news@acme.example>'
	ctl "$t.x" explain --config "$CONF" --vmta acme-1 \
	    --rcpt-domain lists.example.net <"$t.in"
	[[ $RC -eq 0 ]] && has "$t.x.out" "body length l=:   yes"
	check $? "esp: explain: l= for lists.example.net" "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta acme-1 \
	    --rcpt-domain lists.example.net <"$t.in"
	expect_signed "$t" "esp: l= for lists.example.net" acme.example \
	    acme2024 "$acme"
	tr -d '\r\n\t ' <"$t.out" | grep -q ';l=[0-9]'
	check $? "esp: the signature has l=" "$t.out"
}

# ------------------------------------------------- dual-rsa-ed25519.conf

test_dual() {
	local d=$WORK/dual-rsa-ed25519 t
	setup dual-rsa-ed25519
	local rsa=rsa2024._domainkey.example.org=$KEYS/example.org/rsa2024.private
	local ed=ed25519-2024._domainkey.example.org=$KEYS/example.org/ed25519-2024.private

	t=$d/dual
	msg "$t.in" 'Org <info@example.org>' 'List-Unsubscribe: <mailto:u@example.org>'
	ctl "$t.x" explain --config "$CONF" --vmta outbound-2 <"$t.in"
	[[ $RC -eq 0 ]] && has "$t.x.out" "(2 signatures)" &&
	    has "$t.x.out" "rsa-sha256 (2048-bit key)" &&
	    has "$t.x.out" "ed25519-sha256 (Ed25519 key)"
	check $? "dual: explain: RSA and Ed25519" "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$CONF" --vmta outbound-2 <"$t.in"
	expect_signed "$t" "dual" example.org rsa2024 "$rsa" "$ed"
	[[ $(sigcount "$t.out") -eq 2 ]] &&
	    tr -d '\r\n\t ' <"$t.out" | grep -qF "a=ed25519-sha256;" &&
	    tr -d '\r\n\t ' <"$t.out" | grep -qF ";s=ed25519-2024;" &&
	    [[ $(grep -c '^dkim=pass' "$t.out.verify") -eq 2 ]]
	check $? "dual: two signatures, both verify" "$t.out" "$t.out.verify"
	tr -d '\r\n\t ' <"$t.out" | grep -qF "List-Unsubscribe:List-Unsubscribe"
	check $? "dual: over-signed headers (disallow-adding-headers)" "$t.out"
}

# ------------------------------------------ no unsigned message unasked

# A config of its own (not an example): a global dkim-require and
# second-dkim-sign, a VMTA saying dkim-sign no, a key given in U-labels,
# a source whose X-DKIM-Options are honoured.
test_unsigned() {
	local d=$WORK/unsigned t conf
	local key=s1._domainkey.example.com=$d/keys/s1.private
	local ed=e1._domainkey.example.com=$d/keys/e1.private
	local idn=idn._domainkey.xn--bcher-kva.example=$d/keys/idn.private
	local idned=idned._domainkey.xn--bcher-kva.example=$d/keys/idned.private
	mkdir -p "$d/keys"
	chmod 700 "$d/keys"
	for k in s1:rsa e1:ed25519 idn:rsa idned:ed25519; do
		ctl "$d/keygen" keygen --selector "${k%%:*}" --domain example.com \
		    --type "${k##*:}" --dir "$d/keys"
		check $RC "unsigned: keygen ${k%%:*}" "$d/keygen.err"
	done
	conf=$d/vdkim.conf
	cat >"$conf" <<EOC
source trusted { process-x-dkim-options = yes }
domain-key = "s1,example.com,$d/keys/s1.private"
domain-key = "e1,example.com,$d/keys/e1.private"
domain-key = "idn,bücher.example,$d/keys/idn.private"
domain-key = "idned,bücher.example,$d/keys/idned.private"
domain "*" {
	dkim-sign = yes
	dkim-require = yes
	dkim-algorithm = rsa-sha256
	second-dkim-sign = yes
	second-dkim-algorithm = ed25519-sha256
}
virtual-mta mta1 { }
virtual-mta news {
	domain "*" {
		dkim-sign = no
	}
}
virtual-mta loose {
	domain "*" {
		dkim-require = no
	}
}
EOC
	ctl "$d/config-test" config-test --config "$conf"
	check $RC "unsigned: config-test passes (a domain-key in U-labels)" \
	    "$d/config-test.out" "$d/config-test.err"

	# An unknown VMTA under the global dkim-require: deferred.
	t=$d/unknown
	msg "$t.in" 'Alice <alice@example.com>'
	ctl "$t.x" explain --config "$conf" --vmta nosuch <"$t.in"
	[[ $RC -eq 2 ]] && has "$t.x.out" "verdict: defer (unknown-vmta)" &&
	    has "$t.x.out" 'dkim-require yes in the top-level domain "*"'
	check $? "unsigned: explain: unknown VMTA under dkim-require defers" \
	    "rc=$RC" "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$conf" --vmta nosuch <"$t.in"
	[[ $RC -eq 75 && ! -s $t.out ]] && has "$t.err" "deferred (unknown-vmta)"
	check $? "unsigned: sign: unknown VMTA under dkim-require exits 75" \
	    "rc=$RC" "$t.err"

	# dkim-sign no beside a global second-dkim-sign: nothing signed.
	t=$d/news
	msg "$t.in" 'News <news@example.com>'
	ctl "$t.x" explain --config "$conf" --vmta news <"$t.in"
	[[ $RC -eq 1 ]] && has "$t.x.out" "verdict: nosign (signing-disabled)" &&
	    has "$t.x.out" "dkim-sign no in virtual-mta \"news\" domain \"*\" ($conf:15)" &&
	    ! grep -qi 'align' "$t.x.out"
	check $? "unsigned: explain: dkim-sign no names its block, no alignment note" \
	    "rc=$RC" "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$conf" --vmta news <"$t.in"
	expect_unsigned "$t" "unsigned: sign: dkim-sign no sends no Ed25519-only signature" \
	    signing-disabled

	# X-DKIM-Options i= the signer would refuse (the shared reproducer
	# xdkim-options-identity.sh): refused, signed by the config's rules.
	t=$d/xo-identity
	printf 'From: alice@example.com\r\nX-DKIM-Options: d=example.com; i=a b@example.com\r\nSubject: x\r\n\r\nbody\r\n' >"$t.in"
	grep -v '^X-DKIM-Options:' "$t.in" >"$t.exp"
	ctl "$t.x" explain --config "$conf" --vmta mta1 --source trusted <"$t.in"
	[[ $RC -eq 0 ]] && has "$t.x.out" "d=example.com s=s1 i=none" &&
	    has "$t.x.out" "note: x-dkim-options-refused" &&
	    has "$t.x.out" 'i="a b@example.com"'
	check $? "unsigned: explain: X-DKIM-Options i= with a space is refused" \
	    "rc=$RC" "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$conf" --vmta mta1 --source trusted <"$t.in"
	expect_signed "$t" "unsigned: X-DKIM-Options bad i=" example.com s1 \
	    "$key" "$ed"
	has "$t.err" "x-dkim-options-refused"
	check $? "unsigned: sign notes x-dkim-options-refused" "$t.err"

	# Two From: fields: never signed; deferred under dkim-require.
	t=$d/two-from
	msg "$t.in" 'Alice <alice@example.com>' 'From: Mallory <m@example.com>'
	ctl "$t.x" explain --config "$conf" --vmta mta1 <"$t.in"
	[[ $RC -eq 2 ]] && has "$t.x.out" "verdict: defer (multiple-from)"
	check $? "unsigned: explain: two From: fields defer (multiple-from)" \
	    "rc=$RC" "$t.x.out" "$t.x.err"
	ctl "$t" sign --config "$conf" --vmta loose <"$t.in"
	expect_unsigned "$t" "unsigned: sign: two From: fields without dkim-require: unsigned, said" \
	    multiple-from

	# A From: domain in UTF-8: d= in A-labels, the U-label key.
	t=$d/idn
	msg "$t.in" 'Jörg <jörg@bücher.example>'
	ctl "$t" sign --config "$conf" --vmta mta1 <"$t.in"
	expect_signed "$t" "unsigned: From: domain in UTF-8" \
	    xn--bcher-kva.example idn "$idn" "$idned"
}

# ---------------------------------------------------------- broken ones

test_broken() {
	local d=$WORK/broken line key
	mkdir -p "$d"
	# The one-domain example and its keys, as test_one_domain left them.
	CONF=$WORK/one-domain/vdkim.conf
	KEYS=$WORK/one-domain/keys
	key=$KEYS/example.com/mail2024.private

	# A misspelt directive on a known line.
	line=$(grep -n 'dkim-sign = yes' "$CONF" | head -n 1 | cut -d: -f1)
	line=$((line + 1))
	sed "$((line - 1))a\\    dkim-sgin = yes" "$CONF" >"$d/bad.conf"
	ctl "$d/bad" config-test --config "$d/bad.conf"
	[[ $RC -eq 78 ]] && has "$d/bad.out" "$d/bad.conf:$line:" &&
	    [[ $(tail -n 1 "$d/bad.out") == "config has 1 error(s)" ]]
	check $? "config-test: a bad line exits 78 naming FILE:$line" \
	    "rc=$RC" "$d/bad.out" "$d/bad.err"
	ctl "$d/bad-x" explain --config "$d/bad.conf" --vmta mta1 </dev/null
	[[ $RC -eq 78 ]] && has "$d/bad-x.err" "$d/bad.conf:$line:"
	check $? "explain: a bad config exits 78 naming FILE:LINE" "rc=$RC" \
	    "$d/bad-x.err"

	# A group-writable key.
	chmod 0620 "$key"
	ctl "$d/gw" config-test --config "$CONF"
	[[ $RC -eq 78 ]] && grep -q "^error: .*$key" "$d/gw.out" &&
	    [[ $(tail -n 1 "$d/gw.out") == "config has 1 error(s)" ]]
	check $? "config-test: a group-writable key exits 78 naming the key" \
	    "rc=$RC" "$d/gw.out"
	msg "$d/gw.in" 'alice@example.com'
	ctl "$d/gw-sign" sign --config "$CONF" --vmta mta1 <"$d/gw.in"
	[[ $RC -eq 0 ]] && cmp -s "$d/gw-sign.out" "$d/gw.in" &&
	    has "$d/gw-sign.err" "not signed (key-not-loaded)"
	check $? "sign: a refused key: not signed (key-not-loaded)" "rc=$RC" \
	    "$d/gw-sign.err"
	chmod 0600 "$key"

	# A missing key.
	mv "$key" "$key.away"
	ctl "$d/missing" config-test --config "$CONF"
	[[ $RC -eq 78 ]] && grep -q "^error: .*$key" "$d/missing.out"
	check $? "config-test: a missing key exits 78 naming the key" \
	    "rc=$RC" "$d/missing.out"
	mv "$key.away" "$key"

	# sign and explain load a key file when the decision picks it: a
	# broken key file of another domain is not read (a config of 100,000
	# domain-keys answers at once); config-test still loads every key.
	"$CTL" keygen --selector k --domain example.com --dir "$d" >/dev/null 2>&1
	cp "$ROOT/tests/data/garbage.pem" "$d/broken.private"
	chmod 0600 "$d/broken.private"
	printf 'domain-key = "k,example.com,%s/k.private"\ndomain-key = "b,other.example,%s/broken.private"\ndomain "*" { dkim-sign = yes }\n' \
	    "$d" "$d" >"$d/lazy.conf"
	msg "$d/lazy.in" 'Alice <alice@example.com>'
	ctl "$d/lazy" sign --config "$d/lazy.conf" --vmta v <"$d/lazy.in"
	expect_signed "$d/lazy" "sign on demand: another domain's broken key" \
	    example.com k "k._domainkey.example.com=$d/k.private"
	! has "$d/lazy.err" "broken.private"
	check $? "sign on demand: the other domain's broken key is not read" \
	    "$d/lazy.err"
	ctl "$d/lazy-x" explain --config "$d/lazy.conf" --vmta v <"$d/lazy.in"
	[[ $RC -eq 0 ]] && has "$d/lazy-x.out" "verdict: sign" &&
	    ! has "$d/lazy-x.err" "broken.private"
	check $? "explain on demand: another domain's broken key: verdict sign" \
	    "rc=$RC" "$d/lazy-x.out" "$d/lazy-x.err"
	msg "$d/lazy-b.in" 'Bob <bob@other.example>'
	ctl "$d/lazy-b" sign --config "$d/lazy.conf" --vmta v <"$d/lazy-b.in"
	[[ $RC -eq 0 ]] && cmp -s "$d/lazy-b.out" "$d/lazy-b.in" &&
	    has "$d/lazy-b.err" "not signed (key-not-loaded)" &&
	    has "$d/lazy-b.err" "$d/broken.private"
	check $? "sign on demand: the chosen key broken: key-not-loaded, naming the file" \
	    "rc=$RC" "$d/lazy-b.err"
	ctl "$d/lazy-bx" explain --config "$d/lazy.conf" --vmta v <"$d/lazy-b.in"
	has "$d/lazy-bx.out" "$d/broken.private" ||
	    has "$d/lazy-bx.err" "$d/broken.private"
	check $? "explain on demand: the chosen key broken: names the file" \
	    "rc=$RC" "$d/lazy-bx.out" "$d/lazy-bx.err"
	# The picked key's own warning (readable by every user), loaded on
	# demand, is still said.
	chmod 0644 "$d/k.private"
	ctl "$d/lazy-w" sign --config "$d/lazy.conf" --vmta v <"$d/lazy.in"
	[[ $RC -eq 0 ]] && grep -q "warning: .*$d/k.private is readable by every user" "$d/lazy-w.err"
	check $? "sign on demand: the picked key's warning (readable by every user) is printed" \
	    "rc=$RC" "$d/lazy-w.err"
	chmod 0600 "$d/k.private"
	ctl "$d/lazy-t" config-test --config "$d/lazy.conf"
	[[ $RC -eq 78 ]] && grep -q "^error: .*$d/broken.private" "$d/lazy-t.out"
	check $? "config-test: the same config exits 78 naming the broken key" \
	    "rc=$RC" "$d/lazy-t.out"

	ctl "$d/nofile" config-test --config "$d/nosuch.conf"
	[[ $RC -eq 66 ]] && has "$d/nofile.out" "$d/nosuch.conf"
	check $? "config-test: a missing config exits 66 naming it" "rc=$RC" \
	    "$d/nofile.out"
}

# ----------------------------------------------- files that are not files

# A FIFO, a folder, a NUL byte or an over-limit config where vdkimctl reads
# a file: refused at once with a sentence naming it (each run bounded by
# 5 s: a blocking open of a FIFO would wait for a writer forever).
test_hostile_files() {
	local d=$WORK/hostile TIMEOUT=5 key
	mkdir -p "$d/keys/example.com"
	mkfifo "$d/fifo"
	mkdir "$d/dir"
	key=$WORK/one-domain/keys/example.com/mail2024.private
	printf 'From: a@example.com\r\n\r\nhi\r\n' >"$d/msg"

	# not_file NAME WHAT PATH RC ARGS...: vdkimctl ARGS exits RC at once
	# (66: a file it cannot read; 78: the config names one), saying PATH
	# is not a regular file.
	not_file() {
		local name=$1 what=$2 path=$3 want=$4
		shift 4
		ctl "$d/$name" "$@" <"$d/msg"
		[[ $RC -eq $want ]] &&
		    grep -qF "$path: the $what is not a regular file" \
		    "$d/$name.out" "$d/$name.err"
		check $? "$name: refused at once as not a regular file (rc=$RC, 124 = hung)" \
		    "$d/$name.out" "$d/$name.err"
	}
	not_file sign-key-fifo "key file" "$d/fifo" 66 sign --domain example.com \
	    --selector s --key "$d/fifo"
	not_file verify-key-fifo "key record file" "$d/fifo" 66 verify \
	    --key "s._domainkey.example.com=$d/fifo"
	not_file verify-key-dir "key record file" "$d/dir" 66 verify \
	    --key "s._domainkey.example.com=$d/dir"
	not_file config-fifo "config file" "$d/fifo" 78 config-test \
	    --config "$d/fifo"
	printf 'domain-key = "s1,example.com,%s/fifo"\ndomain "*" { dkim-sign = yes }\n' \
	    "$d" >"$d/k.conf"
	not_file domain-key-fifo "key file" "$d/fifo" 78 config-test \
	    --config "$d/k.conf"
	printf 'dkim-rotation list {\n selector = "old,2023-01-01"\n key-dir = "%s/keys/%%d"\n state-file = "%s/fifo"\n}\ndkim-rotation-key = "list,example.com"\ndomain "*" { dkim-sign = yes }\n' \
	    "$d" "$d" >"$d/r.conf"
	not_file state-file-fifo "state file" "$d/fifo" 78 config-test \
	    --config "$d/r.conf"

	# A key record file that is not text.
	printf 'v=DKIM1; p=\0AAAA' >"$d/nul.txt"
	ctl "$d/verify-nul" verify --key "s._domainkey.example.com=$d/nul.txt" <"$d/msg"
	[[ $RC -eq 66 ]] && has "$d/verify-nul.err" "$d/nul.txt: the key record file holds a NUL byte"
	check $? "verify --key with a NUL byte: refused naming the file" \
	    "rc=$RC" "$d/verify-nul.err"

	# The config limits (conf-examples/README.md): FILE:LINE and the limit.
	# over_limit NAME WHAT EXPECTED PYTHON: the config PYTHON writes is
	# refused with EXPECTED (after "FILE:").
	over_limit() {
		python3 -c "import sys; sys.stdout.write($4)" >"$d/$1.conf"
		ctl "$d/$1" config-test --config "$d/$1.conf"
		[[ $RC -eq 78 ]] && has "$d/$1.out" "$d/$1.conf:$3"
		check $? "config-test: $2: FILE:LINE and the limit" "rc=$RC" \
		    "$d/$1.out"
	}
	over_limit long "a value over 64 KiB" \
	    "2: a value longer than 65536 bytes" \
	    '"domain \"*\" { dkim-sign = yes }\ndomain-key = \"s1,example.com,%s\"\n" % ("k" * 65537)'
	over_limit many "over 1,000,000 sections" \
	    "1000001: more than 1000000 sections" \
	    '"domain \"*\" { dkim-sign = yes }\n" + "source s { }\n" * 1000000'
	# An ESP's size is well inside them: 100,000 domain-key lines (11 MB).
	python3 -c 'import sys; sys.stdout.write("domain \"*\" { dkim-sign = yes }\n" + "".join("domain-key = \"s2024,customer-%d.example,%s\"\n" % (i, sys.argv[1]) for i in range(100000)))' \
	    "$key" >"$d/esp.conf"
	TIMEOUT=120 ctl "$d/esp" config-test --config "$d/esp.conf"
	[[ $RC -eq 0 ]] && has "$d/esp.out" "config OK"
	check $? "config-test: 100,000 domain-key lines ($(stat -c %s "$d/esp.conf") bytes) are within the limits" \
	    "rc=$RC" "$(tail -n 3 "$d/esp.out")" "$d/esp.err"
}

# --------------------------------------------------------- access

# Keys as the MTA's user reads them: config-test --user, keygen --group.
test_access() {
	local d=$WORK/access u mode owner
	if [[ $(id -u) != 0 ]]; then
		echo "note: access checks not run (they need root for useradd)"
		return
	fi
	u=vdkimt$$
	SCRATCH_USER=$u
	if ! groupadd -r "$u" 2>"$WORK/groupadd.err" ||
	    ! useradd -r -g "$u" -M -d /nonexistent -s /usr/sbin/nologin \
	    "$u" 2>"$WORK/useradd.err"; then
		bad "access: make the scratch user $u" "$WORK/groupadd.err" \
		    "$WORK/useradd.err"
		return
	fi
	# The scratch user must reach the folder (mktemp -d is 0700), and run
	# vdkimctl: a copy here, since the checkout may be root-only (CI
	# clones into a mktemp -d).
	chmod 0755 "$WORK"
	mkdir -p "$d/keys" "$d/bin" && chmod 0755 "$d" "$d/keys" "$d/bin"
	install -m 0755 "$CTL" "$d/bin/vdkimctl"
	ctl "$d/kg1" keygen --selector s1 --domain example.com --dir "$d/keys"
	check $? "access: keygen without --group" "$d/kg1.err"
	printf 'domain-key = "s1,example.com,%s/keys/s1.private"\n' "$d" \
	    >"$d/root-only.conf"
	printf 'domain "*" {\n    dkim-sign = yes\n}\n' >>"$d/root-only.conf"
	chmod 0644 "$d/root-only.conf"

	# Root reads the 0600 root:root key; the user cannot.
	ctl "$d/ro" config-test --config "$d/root-only.conf" --user "$u"
	[[ $RC -eq 78 ]] &&
	    grep -q "^  FAILED  key $d/keys/s1.private (domain-key s1,example.com, line 1): cannot open the key: Permission denied$" "$d/ro.out" &&
	    grep -q "^  ok      config $d/root-only.conf$" "$d/ro.out" &&
	    has "$d/ro.out" "1 of 2 file(s) cannot be read by $u"
	check $? "access: a root-only key fails for $u (exit 78, the file and why)" \
	    "rc=$RC" "$d/ro.out" "$d/ro.err"
	# What the MTA would see: the same key not loaded.
	runuser -u "$u" -- "$d/bin/vdkimctl" config-test --config "$d/root-only.conf" \
	    >"$d/as-user.out" 2>&1
	RC=$?
	[[ $RC -eq 78 ]] && grep -q "^error: .*s1.private.*Permission denied" "$d/as-user.out"
	check $? "access: as $u the key does not load (what --user foretells)" \
	    "rc=$RC" "$d/as-user.out"

	# keygen --group: 0640 root:GROUP, and config-test --user passes.
	ctl "$d/kg2" keygen --selector s2 --domain example.com --dir "$d/keys" \
	    --group "$u"
	mode=$(stat -c %a "$d/keys/s2.private" 2>/dev/null)
	owner=$(stat -c %U:%G "$d/keys/s2.private" 2>/dev/null)
	[[ $RC -eq 0 && $mode == 640 && $owner == "root:$u" ]]
	check $? "access: keygen --group writes the key 0640 root:$u" \
	    "rc=$RC mode=$mode owner=$owner" "$d/kg2.err"
	sed 's/s1/s2/g' "$d/root-only.conf" >"$d/group.conf"
	chmod 0644 "$d/group.conf"
	ctl "$d/grp" config-test --config "$d/group.conf" --user "$u"
	[[ $RC -eq 0 ]] &&
	    grep -q "^  ok      key $d/keys/s2.private (domain-key s2,example.com, line 1)$" "$d/grp.out" &&
	    has "$d/grp.out" "all 2 file(s) readable by $u" &&
	    ! grep -q "^warning:" "$d/grp.out"
	check $? "access: the --group key passes for $u (exit 0, no warning)" \
	    "rc=$RC" "$d/grp.out" "$d/grp.err"
	runuser -u "$u" -- "$d/bin/vdkimctl" config-test --config "$d/group.conf" \
	    >"$d/as-user2.out" 2>&1
	check $? "access: as $u the --group key loads" "$d/as-user2.out"

	ctl "$d/nogroup" keygen --selector s3 --domain example.com \
	    --dir "$d/keys" --group "no-such-group-$$"
	[[ $RC -eq 67 && ! -e $d/keys/s3.private ]] &&
	    has "$d/nogroup.err" "--group no-such-group-$$: no such group"
	check $? "access: keygen --group with an unknown group writes nothing" \
	    "rc=$RC" "$d/nogroup.err"
	ctl "$d/nouser" config-test --config "$d/group.conf" --user "no-such-user-$$"
	[[ $RC -eq 67 ]] && has "$d/nouser.err" "--user no-such-user-$$: no such user"
	check $? "access: config-test --user with an unknown user (exit 67)" \
	    "rc=$RC" "$d/nouser.err"
}

# --------------------------------------------------------- conventions

# --version, and --help on every command (its usage on stdout, exit 0).
test_conventions() {
	local out cmd
	out=$("$CTL" --version 2>&1)
	[[ $? -eq 0 && $out =~ ^vdkimctl\ \(vdkim\)\ [0-9]+\.[0-9]+$ ]]
	check $? "vdkimctl --version: \"$out\"" "$out"
	for cmd in keygen dns-record sign verify config-test explain check-dns \
	    rotation; do
		out=$("$CTL" "$cmd" --help 2>&1)
		[[ $? -eq 0 && $out == "usage:"*"vdkimctl $cmd "* ]]
		check $? "vdkimctl $cmd --help: its usage, exit 0" "$out"
	done
	out=$("$CTL" rotation plan --config /nonexistent --help 2>&1)
	[[ $? -eq 0 && $out == *"vdkimctl rotation plan|"* ]]
	check $? "vdkimctl rotation plan ... --help: the usage, nothing run" "$out"
	out=$("$CTL" help 2>&1)
	[[ $out == *"vdkimctl COMMAND --help"* && $out == *"vdkimctl --version"* ]]
	check $? "vdkimctl help lists --help and --version" "$out"
}

# The exit-code convention (tools/exit_codes.h, sysexits) and the words
# for each failure, one table: per command its missing value, unknown
# option, missing argument, no input and config cases.
#   NAME|WANT RC|TEXT on stderr (fixed)|ARGS (split on spaces; @W is the
#   work folder)
# stdin is a small message.
cli_cases() {
	cat <<'EOF'
keygen-novalue|64|option --dir needs a value|keygen --selector s --domain example.com --dir
keygen-unknown|64|unknown option --frob|keygen --frob x
keygen-missing|64|--selector and --domain are required|keygen --selector s
keygen-extra|64|unexpected argument "x"|keygen --selector s --domain example.com --dir @W x
keygen-nodir|73|the folder @W/nodir does not exist (make it first): no key was generated|keygen --selector s --domain example.com --dir @W/nodir
keygen-edbits|64|--bits does not apply to ed25519 keys|keygen --type ed25519 --bits 2048 --selector s --domain example.com --dir @W
keygen-badtype|64|--type must be rsa or ed25519|keygen --type dsa --selector s --domain example.com --dir @W
dns-record-novalue|64|option --key needs a value|dns-record --key
dns-record-missing|64|--key, --selector and --domain are required|dns-record --key @W/k.private
dns-record-noinput|66|@W/none.private: cannot open|dns-record --key @W/none.private --selector s --domain example.com
dns-record-baddata|65|@W/garbage.private|dns-record --key @W/garbage.private --selector s --domain example.com
sign-novalue|64|option --selector needs a value|sign --domain example.com --selector
sign-unknown|64|unknown option --frob|sign --frob
sign-missing|64|--domain, --selector and --key are required|sign --domain example.com
sign-noinput|66|@W/none.private: cannot open|sign --domain example.com --selector s --key @W/none.private
sign-noconfig|66|@W/none.conf: cannot open the config file|sign --config @W/none.conf --vmta v
sign-config|78|@W/bad.conf:1:|sign --config @W/bad.conf --vmta v
verify-novalue|64|option --key needs a value|verify --key
verify-usage|64|--key takes SELECTOR._domainkey.DOMAIN=FILE|verify --key nothing
verify-noinput|66|@W/none.txt|verify --key s._domainkey.example.com=@W/none.txt
config-test-novalue|64|option --config needs a value|config-test --config
config-test-unknown|64|unknown option --frob|config-test --frob
config-test-noconfig|66|@W/none.conf: cannot open the config file|config-test --config @W/none.conf
config-test-config|78|@W/bad.conf:1:|config-test --config @W/bad.conf
explain-novalue|64|option --vmta needs a value|explain --config @W/good.conf --vmta
explain-missing|64|--vmta NAME is missing|explain --config @W/good.conf
explain-noconfig|66|@W/none.conf: cannot open the config file|explain --config @W/none.conf --vmta v
explain-config|78|@W/bad.conf:1:|explain --config @W/bad.conf --vmta v
check-dns-novalue|64|option --domain needs a value|check-dns --config @W/good.conf --domain
check-dns-unknown|64|unknown option --frob|check-dns --frob
check-dns-noconfig|66|@W/none.conf: cannot open the config file|check-dns --config @W/none.conf
check-dns-config|78|@W/bad.conf:1:|check-dns --config @W/bad.conf
rotation-missing|64|usage: vdkimctl rotation plan|rotation
rotation-unknown-sub|64|unknown subcommand "frob"|rotation frob
rotation-novalue|64|option --time needs a value|rotation plan --config @W/good.conf --time
rotation-badtime|64|--time must be seconds since 1970|rotation plan --config @W/good.conf --time soon
rotation-check-noconfig|66|@W/none.conf: cannot open the config file|rotation check --config @W/none.conf
rotation-check-config|78|@W/bad.conf:1:|rotation check --config @W/bad.conf
rotation-norotation|78|has no dkim-rotation block|rotation plan --config @W/good.conf
unknown-command|64|unknown command "frob"|frob
EOF
}

test_exit_codes() {
	local d=$WORK/exit name want text args a
	mkdir -p "$d"
	printf 'From: a@example.com\r\n\r\nhi\r\n' >"$d/msg"
	printf 'dkim-sgin = yes\n' >"$d/bad.conf"
	printf 'domain "*" { dkim-sign = no }\n' >"$d/good.conf"
	cp "$ROOT/tests/data/garbage.pem" "$d/garbage.private"
	"$CTL" keygen --selector k --domain example.com --dir "$d" >/dev/null 2>&1
	while IFS='|' read -r name want text args; do
		text=${text//@W/$d}
		read -r -a a <<<"${args//@W/$d}"
		ctl "$d/$name" "${a[@]}" <"$d/msg"
		[[ $RC -eq $want ]] &&
		    { has "$d/$name.err" "$text" || has "$d/$name.out" "$text"; }
		check $? "$name: vdkimctl ${args//@W/W} exits $want, \"$text\"" \
		    "rc=$RC" "$d/$name.err"
	done < <(cli_cases)
	# Nothing is left behind by the keygen failures.
	[[ ! -e $d/s.private && ! -d $d/nodir ]]
	check $? "keygen failures leave no key behind" "$(ls "$d")"
	# An empty message, said as such (not an internal call's name).
	ctl "$d/empty" sign --domain example.com --selector k --key "$d/k.private" </dev/null
	[[ $RC -eq 65 ]] && has "$d/empty.err" "the message is empty (no header)" &&
	    ! grep -q "vdkim_" "$d/empty.err"
	check $? "sign: an empty message: exit 65, \"the message is empty (no header)\"" \
	    "rc=$RC" "$d/empty.err"
	# By the policy an empty message is one without a From: (the module's
	# path, as an MTA would run it): not signed, saying why.
	printf 'domain-key = "k,example.com,%s/k.private"\ndomain "*" { dkim-sign = yes }\n' \
	    "$d" >"$d/sign.conf"
	ctl "$d/empty-p" sign --config "$d/sign.conf" --vmta v </dev/null
	[[ $RC -eq 0 && ! -s $d/empty-p.out ]] && has "$d/empty-p.err" "not signed (no-identity)" &&
	    ! grep -q "vdkim_\|policy_message_\|called out of order" "$d/empty-p.err"
	check $? "sign --config: an empty message: not signed (no-identity), in words" \
	    "rc=$RC" "$d/empty-p.err"
	# help documents the convention.
	"$CTL" help >"$d/help.out" 2>&1
	has "$d/help.out" "64 usage" && has "$d/help.out" "66 no input" &&
	    has "$d/help.out" "78 config error" && has "$d/help.out" "75 temporary" &&
	    has "$d/help.out" "rotation check 1 signing is broken"
	check $? "vdkimctl help documents the exit statuses" "$d/help.out"
}

test_one_domain
test_esp
test_dual
test_unsigned
test_broken
test_hostile_files
test_access
test_conventions
test_exit_codes
finish
