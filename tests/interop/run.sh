#!/usr/bin/env bash
# tests/interop/run.sh BUILD_DIR - interoperability of vdkimctl with
# dkimpy, Mail::DKIM and libopendkim, with keys served over real DNS
# (dnsmasq in a private network namespace).
#
#   bash tests/interop/run.sh build        (the Makefile's "interop" target)
#
# Needs root (network namespace), BUILD_DIR/vdkimctl and
# BUILD_DIR/peers/opendkim_peer, and the packages of scripts/deps.sh.
#
# 1. writes the corpus (tests/corpus/make_corpus.py) and keys made by
#    "vdkimctl keygen": RSA 2048 (its record is multi-string), 1024, 4096
#    and Ed25519;
# 2. serves them with dnsmasq (tests/lib/dns_netns.sh), plus a revoked
#    selector and one without record;
# 3. vdkimctl signs every message x {rsa-sha256, ed25519-sha256} x header
#    canon x body canon; dkimpy, libopendkim and (RSA only) Mail::DKIM
#    verify, and so does vdkimctl itself; RSA 1024/4096 and a dual
#    (RSA + Ed25519) signature too;
# 4. dkimpy and libopendkim sign the same matrix; "vdkimctl verify" over
#    DNS must pass them, and must fail tampered copies with the right
#    reason (body-hash-mismatch, bad-signature), a missing key
#    (key-not-found) and a revoked key (key-revoked);
# 5. prints one line per failed check and ends with "N passed, N failed";
#    exits 1 when anything failed.
#
# Environment: INTEROP_KEEP=1 keeps the work directory (its path is
# printed); INTEROP_VERBOSE=1 prints every check.
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3 # Debian's python3 with python3-dkim (not a pyenv one)
DOMAIN=example.com
VTIMEOUT=240 # seconds for one batch of verifications
STIMEOUT=60  # seconds for one signing or key generation

# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${INTEROP_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"
BG_PIDS=()
WORK=""

# ------------------------------------------------------------ reporting



# phase NAME: elapsed time so far, on stderr.
phase() {
	echo "interop: $1 ($((SECONDS - START)) s)" >&2
}


# fatal "why" [details]: a setup step failed; nothing more can be checked.
fatal() {
	bad "$@"
	echo "interop: cannot go on" >&2
	finish
}

cleanup_run() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
	if [[ -n $WORK ]]; then
		if [[ -n ${INTEROP_KEEP:-} ]]; then
			echo "interop: work directory kept: $WORK" >&2
		else
			rm -rf "$WORK"
		fi
		WORK=""
	fi
}

# ------------------------------------------------------------ arguments

if (($# != 1)); then
	echo "usage: bash tests/interop/run.sh BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd) || {
	echo "interop: no build directory $1" >&2
	bad "build directory $1 exists"
	finish
}
VDKIMCTL=$BUILD/vdkimctl
OPENDKIM_PEER=$BUILD/peers/opendkim_peer
DKIMPY_PEER=$ROOT/tests/peers/dkimpy_peer.py
MAILDKIM_PEER=$ROOT/tests/peers/maildkim_peer.pl
START=$SECONDS

trap cleanup_run EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ preflight

[[ $(id -u) == 0 ]] || fatal "interop needs root (network namespace, port 53)"
[[ -x $VDKIMCTL ]] || fatal "vdkimctl not built: $VDKIMCTL"
[[ -x $OPENDKIM_PEER ]] || fatal "opendkim_peer not built: $OPENDKIM_PEER"
"$PY" -c 'import dkim, dns.resolver, nacl' 2>/dev/null ||
	fatal "dkimpy missing: $PY cannot import dkim, dns.resolver, nacl (python3-dkim python3-dnspython python3-nacl)"
perl -MMail::DKIM::Verifier -MNet::DNS -e1 2>/dev/null ||
	fatal "Mail::DKIM missing (libmail-dkim-perl libnet-dns-perl)"
command -v timeout >/dev/null || fatal "timeout(1) missing (coreutils)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-interop.XXXXXX") || fatal "mktemp failed"
mkdir -p "$WORK"/{corpus,keys,vsign,psign,tamper,out} || fatal "mkdir in $WORK failed"

# shellcheck disable=SC1091 # checked on its own
source "$ROOT/tests/lib/dns_netns.sh"
# shellcheck disable=SC2034 # used by dns_netns.sh's EXIT trap
DNS_NETNS_EXIT_HOOK=cleanup_run

# ------------------------------------------------------------ 1. corpus, keys

if ! out=$("$PY" "$ROOT/tests/corpus/make_corpus.py" "$WORK/corpus" 2>&1); then
	fatal "make_corpus.py failed" "$out"
fi
MSGS=()
for f in "$WORK"/corpus/*.eml; do
	[[ -e $f ]] && MSGS+=("$(basename "$f")")
done
((${#MSGS[@]} >= 15)) || fatal "corpus has only ${#MSGS[@]} messages"
ok "corpus: ${#MSGS[@]} messages"

# has_body MSG: the message has a header/body separator (a blank line).
has_body() {
	grep -qE $'^\r?$' "$WORK/corpus/$1"
}

# keygen SELECTOR TYPE [BITS]
keygen() {
	local sel=$1 type=$2 bits=${3:-} out args
	args=(keygen --selector "$sel" --domain "$DOMAIN" --type "$type" --dir "$WORK/keys")
	[[ -z $bits ]] || args+=(--bits "$bits")
	if ! out=$(timeout -k 5 "$STIMEOUT" "$VDKIMCTL" "${args[@]}" 2>&1); then
		bad "vdkimctl ${args[*]} failed" "$out"
		return 1
	fi
	if [[ ! -s $WORK/keys/$sel.private || ! -s $WORK/keys/$sel.txt ]]; then
		bad "vdkimctl keygen $sel: $sel.private or $sel.txt missing" "$out" \
			"$(ls -l "$WORK/keys")"
		return 1
	fi
	ok "keygen $sel ($type${bits:+ $bits})"
	local mode
	mode=$(stat -c %a "$WORK/keys/$sel.private")
	if [[ $mode == 600 ]]; then
		ok "keygen $sel: private key mode 0600"
	else
		bad "keygen $sel: $sel.private has mode $mode, want 0600"
	fi
	# The zone line is also printed on stdout.
	local a b
	a=$(tr -s ' \t\n' ' ' <"$WORK/keys/$sel.txt" | sed 's/^ //; s/ $//')
	b=$(printf '%s' "$out" | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	if [[ $b == *"$a"* ]]; then
		ok "keygen $sel: zone line on stdout"
	else
		bad "keygen $sel: stdout does not hold the zone line of $sel.txt" \
			"stdout: $out" "file: $(cat "$WORK/keys/$sel.txt")"
	fi
	return 0
}

keygen rsa2048 rsa 2048 || fatal "cannot go on without the RSA 2048 key"
keygen ed ed25519 || fatal "cannot go on without the Ed25519 key"
HAVE1024=1 HAVE4096=1
keygen rsa1024 rsa 1024 || HAVE1024=0
keygen rsa4096 rsa 4096 || HAVE4096=0

# Zone lines: strings of at most 255 bytes, the 2048-bit record split.
check_zone() {
	"$PY" - "$@" <<'EOF'
import re, sys
rc = 0
for path in sys.argv[1:]:
    sel = path.rsplit("/", 1)[-1][:-4]
    text = open(path, "rb").read().decode("ascii", "replace")
    m = re.match(r'\s*(\S+)\s+(?:\d+\s+)?IN\s+TXT\s+\(?(.*?)\)?\s*$', text, re.S)
    if not m:
        print("FAIL %s.txt: not a zone-file TXT line: %r" % (sel, text)); rc = 1; continue
    want = "%s._domainkey.example.com." % sel
    strs = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))
    probs = []
    if m.group(1) != want:
        probs.append("name %s, want %s" % (m.group(1), want))
    if not strs:
        probs.append("no quoted strings")
    if any(len(s.encode()) > 255 for s in strs):
        probs.append("a string over 255 bytes: %s" % [len(s) for s in strs])
    val = "".join(strs)
    if not re.match(r"v=DKIM1;", val):
        probs.append("value does not start with v=DKIM1;")
    if not re.search(r"(^|;)\s*p=[A-Za-z0-9+/=]{40,}\s*(;|$)", val):
        probs.append("no p= key")
    kt = "ed25519" if sel == "ed" else "rsa"
    if not re.search(r"(^|;)\s*k=%s\s*(;|$)" % kt, val):
        probs.append("no k=%s" % kt)
    if sel == "rsa2048" and len(strs) < 2:
        probs.append("a 2048-bit record must be split into several strings")
    if probs:
        print("FAIL %s.txt: %s: %s" % (sel, "; ".join(probs), text.strip())); rc = 1
    else:
        print("ok %s.txt (%d strings)" % (sel, len(strs)))
sys.exit(rc)
EOF
}
ZONES=("$WORK/keys/rsa2048.txt" "$WORK/keys/ed.txt")
((HAVE1024)) && ZONES+=("$WORK/keys/rsa1024.txt")
((HAVE4096)) && ZONES+=("$WORK/keys/rsa4096.txt")
while IFS= read -r line; do
	case $line in
	ok*) ok "zone line: ${line#ok }" ;;
	FAIL*) bad "zone line: ${line#FAIL }" ;;
	*) bad "zone line check: $line" ;;
	esac
done < <(check_zone "${ZONES[@]}" 2>&1)

# ------------------------------------------------------------ 2. DNS
phase "corpus and keys done"

dns_netns_init || fatal "cannot create the network namespace"
dns_netns_add_zone "${ZONES[@]}" || fatal "cannot load the zone lines" "$(cat "${ZONES[@]}")"
dns_netns_add_revoked "revoked._domainkey.$DOMAIN" || fatal "cannot add the revoked record"
dns_netns_add_nxdomain "nokey._domainkey.$DOMAIN" || fatal "cannot declare nokey NXDOMAIN"
# (not in $(...): the dnsmasq PID must stay in this shell for the cleanup)
if ! dns_netns_start 2>"$WORK/out/dns_start.err"; then
	fatal "dnsmasq did not start" "$(cat "$WORK/out/dns_start.err")"
fi
ok "dnsmasq serves the keys in netns $DNS_NETNS"

# What the resolver inside the namespace sees.
if out=$(dns_netns_exec "$PY" - "$DOMAIN" <<'EOF' 2>&1
import sys, dns.resolver
dom = sys.argv[1]
def strings(sel):
    a = dns.resolver.resolve("%s._domainkey.%s" % (sel, dom), "TXT")
    return list(a)[0].strings
s = strings("rsa2048")
assert len(s) >= 2, "rsa2048 record served as %d string(s)" % len(s)
assert b"".join(s).startswith(b"v=DKIM1;"), b"".join(s)[:40]
assert b"".join(strings("revoked")).rstrip().endswith(b"p="), "revoked record"
try:
    dns.resolver.resolve("nokey._domainkey." + dom, "TXT")
    raise AssertionError("nokey has a record")
except dns.resolver.NXDOMAIN:
    pass
print("rsa2048: %d strings" % len(s))
EOF
); then
	ok "DNS in the namespace: $out, revoked p= empty, nokey NXDOMAIN"
else
	bad "DNS in the namespace does not serve what was loaded" "$out"
fi

# ------------------------------------------------------------ helpers

ALGS=(rsa-sha256 ed25519-sha256)
CANONS=(simple/simple simple/relaxed relaxed/simple relaxed/relaxed)

sel_for() { # ALG -> selector
	[[ $1 == ed25519-sha256 ]] && echo ed || echo rsa2048
}

# Expectations: EXPECT[verifier|file]="sel..." (each must pass) and
# CTX[file]="what the file is".  Results: RES[verifier|file|sel]="result
# code", OUT[verifier|file]=its lines.
declare -A EXPECT=() CTX=() RES=() OUT=() VRC=()
declare -a VFILES_dkimpy=() VFILES_opendkim=() VFILES_maildkim=() VFILES_vdkim=()

expect() { # VERIFIER FILE SELECTORS
	EXPECT["$1|$2"]=$3
	case $1 in
	dkimpy) VFILES_dkimpy+=("$2") ;;
	opendkim) VFILES_opendkim+=("$2") ;;
	maildkim) VFILES_maildkim+=("$2") ;;
	vdkim) VFILES_vdkim+=("$2") ;;
	esac
}

# run_bg NAME CMD...: runs CMD inside the namespace, in the background,
# bounded by VTIMEOUT; stdout to out/NAME.out, stderr to out/NAME.err.
run_bg() {
	local name=$1
	shift
	timeout -k 5 "$VTIMEOUT" ip netns exec "$DNS_NETNS" "$@" \
		>"$WORK/out/$name.out" 2>"$WORK/out/$name.err" </dev/null &
	BG_PIDS+=($!)
	BGNAME[$!]=$name
}
declare -A BGNAME=()

wait_bg() {
	local p
	for p in "${BG_PIDS[@]}"; do
		wait "$p"
		VRC[${BGNAME[$p]}]=$?
	done
	BG_PIDS=()
}

# The vdkimctl verify loop (one process per message, each bounded, run in
# the netns): prints "FILE rc=STATUS LINE" for each line of output.
# shellcheck disable=SC2016 # expanded by the inner bash
VLOOP='
v=$1; shift
for f in "$@"; do
	out=$(timeout -k 2 60 "$v" verify <"$f" 2>&1)
	rc=$?
	[[ -n $out ]] || out="(no output)"
	while IFS= read -r l; do
		printf "%s rc=%d %s\n" "$f" "$rc" "$l"
	done <<<"$out"
done'

run_verifiers() { # TAG: verify every expected file, each verifier batched
	local tag=$1
	((${#VFILES_dkimpy[@]})) && run_bg "$tag.dkimpy" "$PY" "$DKIMPY_PEER" verify "${VFILES_dkimpy[@]}"
	((${#VFILES_opendkim[@]})) && run_bg "$tag.opendkim" "$OPENDKIM_PEER" verify "${VFILES_opendkim[@]}"
	((${#VFILES_maildkim[@]})) && run_bg "$tag.maildkim" perl "$MAILDKIM_PEER" verify "${VFILES_maildkim[@]}"
	((${#VFILES_vdkim[@]})) && run_bg "$tag.vdkim" bash -c "$VLOOP" vloop "$VDKIMCTL" "${VFILES_vdkim[@]}"
	wait_bg
}

# parse_out TAG VERIFIER: fills RES and OUT from out/TAG.VERIFIER.out.
# A line is "FILE ... dkim=RESULT [(CODE...)] ... [header.]s=SEL ...".
parse_out() {
	local tag=$1 v=$2 f rest res code sel
	local re_res='dkim=([A-Za-z]+)' re_code='dkim=[A-Za-z]+ \(([A-Za-z0-9_.-]+)'
	local re_sel='(^| )(header\.)?s=([^ ;)]+)'
	[[ -f $WORK/out/$tag.$v.out ]] || return 0
	while read -r f rest; do
		[[ -n $f ]] || continue
		OUT["$v|$f"]+="$rest"$'\n'
		[[ $rest =~ $re_res ]] || continue
		res=${BASH_REMATCH[1],,}
		code=""
		[[ $rest =~ $re_code ]] && code=${BASH_REMATCH[1]%:}
		sel="?"
		[[ $rest =~ $re_sel ]] && sel=${BASH_REMATCH[3]}
		# the first line for a selector counts (a duplicate is suspicious)
		if [[ -z ${RES["$v|$f|$sel"]+x} ]]; then
			RES["$v|$f|$sel"]="$res $code"
		else
			RES["$v|$f|$sel"]="duplicate $code"
		fi
	done <"$WORK/out/$tag.$v.out"
}

# context for failure lines: the verifier's exit status and stderr
vcontext() { # TAG VERIFIER
	local e=$WORK/out/$1.$2.err
	printf 'exit status %s' "${VRC[$1.$2]:-?}"
	if [[ -s $e ]]; then
		printf '; stderr: %s' "$(head -c 600 "$e")"
	fi
}

# check_expected TAG: every EXPECT entry must pass.
check_expected() {
	local tag=$1 key v f sel r want keys
	mapfile -t keys < <(printf '%s\n' "${!EXPECT[@]}" | sort)
	for key in "${keys[@]}"; do
		v=${key%%|*} f=${key#*|}
		want=${EXPECT[$key]}
		for sel in $want; do
			r=${RES["$v|$f|$sel"]:-}
			if [[ $r == pass* ]]; then
				if [[ $v == vdkim && -n ${r#pass } && ${r#pass } != ok ]]; then
					bad "$v: ${CTX[$f]} s=$sel: passes with code '${r#pass }', want ok" \
						"${OUT["$v|$f"]:-}"
				else
					ok "$v: ${CTX[$f]} s=$sel"
				fi
			elif [[ -z $r && -z ${OUT["$v|$f"]:-} ]]; then
				bad "$v: ${CTX[$f]} s=$sel: no output from the verifier" \
					"$(vcontext "$tag" "$v")"
			else
				r=${r% }
				bad "$v: ${CTX[$f]} s=$sel: ${r:-no result for this selector}" \
					"${OUT["$v|$f"]:-}" "file: $f"
			fi
		done
	done
}

reset_expect() {
	EXPECT=() RES=() OUT=()
	VFILES_dkimpy=() VFILES_opendkim=() VFILES_maildkim=() VFILES_vdkim=()
}

# ------------------------------------------------------------ 3. vdkimctl signs
phase "DNS up"

# vsign OUT CONTEXT ARGS...: vdkimctl sign ARGS < corpus message
vsign() {
	local in=$1 outf=$2 ctx=$3 err
	shift 3
	if ! err=$(timeout -k 5 "$STIMEOUT" "$VDKIMCTL" sign "$@" <"$in" 2>&1 >"$outf"); then
		bad "vdkimctl sign: $ctx: failed" "$err" "args: $*"
		return 1
	fi
	if ! head -c 15 "$outf" | grep -qi '^DKIM-Signature:'; then
		bad "vdkimctl sign: $ctx: output does not start with DKIM-Signature:" \
			"$(head -c 300 "$outf")" "stderr: $err"
		return 1
	fi
	return 0
}

# The signed output is the original message with fields prepended, which
# use the message's line ends.  Lines of "SIGNED ORIGINAL NSIGS CONTEXT".
PRESERVE_LIST=$WORK/out/preserve.list
: >"$PRESERVE_LIST"

for m in "${MSGS[@]}"; do
	base=${m%.eml}
	for alg in "${ALGS[@]}"; do
		sel=$(sel_for "$alg")
		for canon in "${CANONS[@]}"; do
			f=$WORK/vsign/$base.$sel.${canon/\//-}.eml
			ctx="$m a=$alg c=$canon (vdkimctl-signed)"
			vsign "$WORK/corpus/$m" "$f" "$ctx" --domain "$DOMAIN" \
				--selector "$sel" --key "$WORK/keys/$sel.private" \
				--algorithm "$alg" --canon "$canon" || continue
			ok "vdkimctl sign: $m a=$alg c=$canon"
			CTX[$f]=$ctx
			printf '%s\t%s\t1\t%s\n' "$f" "$WORK/corpus/$m" "$ctx" >>"$PRESERVE_LIST"
			expect dkimpy "$f" "$sel"
			expect opendkim "$f" "$sel"
			expect vdkim "$f" "$sel"
			[[ $alg == rsa-sha256 ]] && expect maildkim "$f" "$sel"
		done
	done
done

# Other RSA sizes: a few messages, both canonicalizations.
for bits in 1024 4096; do
	have=HAVE$bits
	((${!have})) || continue
	for m in 01-plain-small.eml 02-folded-repeated-headers.eml 07-bare-lf.eml; do
		[[ -f $WORK/corpus/$m ]] || { bad "corpus lacks $m (test bug)"; continue; }
		for canon in simple/simple relaxed/relaxed; do
			f=$WORK/vsign/${m%.eml}.rsa$bits.${canon/\//-}.eml
			ctx="$m a=rsa-sha256 ($bits bits) c=$canon (vdkimctl-signed)"
			vsign "$WORK/corpus/$m" "$f" "$ctx" --domain "$DOMAIN" \
				--selector "rsa$bits" --key "$WORK/keys/rsa$bits.private" \
				--algorithm rsa-sha256 --canon "$canon" || continue
			ok "vdkimctl sign: $ctx"
			CTX[$f]=$ctx
			printf '%s\t%s\t1\t%s\n' "$f" "$WORK/corpus/$m" "$ctx" >>"$PRESERVE_LIST"
			expect dkimpy "$f" "rsa$bits"
			expect opendkim "$f" "rsa$bits"
			expect maildkim "$f" "rsa$bits"
			expect vdkim "$f" "rsa$bits"
		done
	done
done

# Dual signature: RSA and Ed25519 in one call.
for m in 01-plain-small.eml 02-folded-repeated-headers.eml 07-bare-lf.eml \
	09-utf8-headers.eml 14-multipart-1mb-attachment.eml; do
	[[ -f $WORK/corpus/$m ]] || { bad "corpus lacks $m (test bug)"; continue; }
	for canon in relaxed/relaxed simple/simple; do
		f=$WORK/vsign/${m%.eml}.dual.${canon/\//-}.eml
		ctx="$m dual rsa-sha256+ed25519-sha256 c=$canon (vdkimctl-signed)"
		vsign "$WORK/corpus/$m" "$f" "$ctx" --domain "$DOMAIN" --canon "$canon" \
			--selector rsa2048 --key "$WORK/keys/rsa2048.private" \
			--selector ed --key "$WORK/keys/ed.private" || continue
		n=$(grep -ciE '^DKIM-Signature:' "$f")
		if [[ $n == 2 ]]; then
			ok "vdkimctl sign: $ctx: two signatures"
		else
			bad "vdkimctl sign: $ctx: $n DKIM-Signature fields, want 2" "$(head -c 600 "$f")"
		fi
		CTX[$f]=$ctx
		printf '%s\t%s\t2\t%s\n' "$f" "$WORK/corpus/$m" "$ctx" >>"$PRESERVE_LIST"
		expect dkimpy "$f" "rsa2048 ed"
		expect opendkim "$f" "rsa2048 ed"
		expect maildkim "$f" "rsa2048"
		expect vdkim "$f" "rsa2048 ed"
	done
done

# Signing options: an explicit h= list (repeated To, lower-case names for
# mixed-case fields), i= and x=.
OPTS_HDRS="From:To:Cc:Subject:Date:Message-ID:Content-Type"
for m in 02-folded-repeated-headers.eml 03-mixed-case-names.eml; do
	[[ -f $WORK/corpus/$m ]] || { bad "corpus lacks $m (test bug)"; continue; }
	hdrs=$OPTS_HDRS
	[[ $m == 03-* ]] && hdrs=${OPTS_HDRS,,}
	for alg in "${ALGS[@]}"; do
		sel=$(sel_for "$alg")
		for canon in simple/simple relaxed/relaxed; do
			f=$WORK/vsign/${m%.eml}.$sel.opts.${canon/\//-}.eml
			ctx="$m a=$alg c=$canon --headers $hdrs --identity alice@$DOMAIN --expire-after 1d (vdkimctl-signed)"
			vsign "$WORK/corpus/$m" "$f" "$ctx" --domain "$DOMAIN" \
				--selector "$sel" --key "$WORK/keys/$sel.private" \
				--algorithm "$alg" --canon "$canon" --headers "$hdrs" \
				--identity "alice@$DOMAIN" --expire-after 1d || continue
			sig=$(awk 'NR == 1 || /^[ \t]/ { printf "%s", $0; next } { exit }' "$f" | tr -d '\r\t ')
			if [[ $sig == *";i=alice@$DOMAIN;"* || $sig == *";i=alice@$DOMAIN" ]] &&
				[[ $sig =~ \;x=([0-9]+) ]] && [[ $sig =~ \;t=([0-9]+) ]]; then
				ok "vdkimctl sign: $ctx: i= and x= present"
			else
				bad "vdkimctl sign: $ctx: i=alice@$DOMAIN or x=/t= missing" "$sig"
			fi
			CTX[$f]=$ctx
			printf '%s\t%s\t1\t%s\n' "$f" "$WORK/corpus/$m" "$ctx" >>"$PRESERVE_LIST"
			expect dkimpy "$f" "$sel"
			expect opendkim "$f" "$sel"
			expect vdkim "$f" "$sel"
			[[ $alg == rsa-sha256 ]] && expect maildkim "$f" "$sel"
		done
	done
done

# The message itself must come out unchanged, the new fields using its
# line ends.
while IFS= read -r line; do
	case $line in
	ok*) ok "${line#ok }" ;;
	*) bad "${line#FAIL }" ;;
	esac
done < <("$PY" - "$PRESERVE_LIST" <<'EOF' 2>&1
import re, sys
for row in open(sys.argv[1], encoding="utf-8", errors="replace"):
    signed, orig, n, ctx = row.rstrip("\n").split("\t")
    s = open(signed, "rb").read()
    o = open(orig, "rb").read()
    crlf = o.find(b"\n") < 0 or o[o.find(b"\n") - 1:o.find(b"\n")] == b"\r"
    eol = b"\r\n" if crlf else b"\n"
    # A message without a final line end may come out with one added:
    # that is what was signed.
    if s.endswith(o):
        head = s[: len(s) - len(o)]
    elif not o.endswith(b"\n") and s.endswith(o + eol):
        head = s[: len(s) - len(o) - len(eol)]
    else:
        at = next((i for i in range(min(len(s), len(o)))
                   if s[len(s) - 1 - i] != o[len(o) - 1 - i]), None)
        print("FAIL vdkimctl sign: %s: the message is altered (signed %d bytes, "
              "original %d; they differ %s bytes from the end)"
              % (ctx, len(s), len(o), at))
        continue
    fields = re.split(rb"\r?\n(?![ \t])", head)
    fields = [f for f in fields if f]
    if len(fields) != int(n) or not all(
            f.lower().startswith(b"dkim-signature:") for f in fields):
        print("FAIL vdkimctl sign: %s: prepended %d field(s), want %s "
              "DKIM-Signature: %r" % (ctx, len(fields), n, head[:200]))
        continue
    ends = re.findall(rb"\r?\n", head)
    bad = [e for e in ends if (e == b"\r\n") != crlf]
    if bad or not head.endswith(b"\n"):
        print("FAIL vdkimctl sign: %s: the DKIM-Signature does not use the "
              "message's line ends (%s)" % (ctx, "CRLF" if crlf else "LF"))
        continue
    if re.search(rb"[^\r\n]{999,}", head):
        print("FAIL vdkimctl sign: %s: a DKIM-Signature line over 998 bytes" % ctx)
        continue
    print("ok vdkimctl sign: %s: message preserved" % ctx)
EOF
)

phase "vdkimctl signed"
run_verifiers vs
phase "peers verified"
for v in dkimpy opendkim maildkim vdkim; do
	parse_out vs "$v"
done
check_expected vs

# ------------------------------------------------------------ 4. peers sign

reset_expect
phase "checked"

# dkimpy: one process per algorithm x canon, all messages at once.
for alg in "${ALGS[@]}"; do
	sel=$(sel_for "$alg")
	for canon in "${CANONS[@]}"; do
		d=$WORK/psign/dkimpy.$sel.${canon/\//-}
		mkdir -p "$d"
		if ! err=$(timeout -k 5 "$VTIMEOUT" "$PY" "$DKIMPY_PEER" sign \
			--key "$WORK/keys/$sel.private" --selector "$sel" --domain "$DOMAIN" \
			--alg "$alg" --canon "$canon" --outdir "$d" "${MSGS[@]/#/$WORK/corpus/}" 2>&1); then
			bad "dkimpy sign a=$alg c=$canon failed" "$err"
		fi
		for m in "${MSGS[@]}"; do
			f=$d/$m
			if [[ ! -s $f ]]; then
				bad "dkimpy sign: $m a=$alg c=$canon: no output"
				continue
			fi
			CTX[$f]="$m a=$alg c=$canon (dkimpy-signed)"
			expect vdkim "$f" "$sel"
		done
	done
done

# libopendkim: one process per message (a C program starts fast).
for alg in "${ALGS[@]}"; do
	sel=$(sel_for "$alg")
	for canon in "${CANONS[@]}"; do
		d=$WORK/psign/opendkim.$sel.${canon/\//-}
		mkdir -p "$d"
		for m in "${MSGS[@]}"; do
			f=$d/$m
			if ! err=$(timeout -k 5 "$STIMEOUT" "$OPENDKIM_PEER" sign \
				--key "$WORK/keys/$sel.private" --selector "$sel" \
				--domain "$DOMAIN" --alg "$alg" --canon "$canon" \
				<"$WORK/corpus/$m" 2>&1 >"$f"); then
				bad "opendkim sign: $m a=$alg c=$canon failed" "$err"
				continue
			fi
			CTX[$f]="$m a=$alg c=$canon (libopendkim-signed)"
			expect vdkim "$f" "$sel"
		done
	done
done

# Other key sizes, signed by dkimpy.
for bits in 1024 4096; do
	have=HAVE$bits
	((${!have})) || continue
	m=01-plain-small.eml
	f=$WORK/psign/dkimpy.rsa$bits.$m
	if timeout -k 5 "$STIMEOUT" "$PY" "$DKIMPY_PEER" sign --key "$WORK/keys/rsa$bits.private" \
		--selector "rsa$bits" --domain "$DOMAIN" --canon relaxed/relaxed \
		<"$WORK/corpus/$m" >"$f" 2>"$f.err"; then
		CTX[$f]="$m a=rsa-sha256 ($bits bits) c=relaxed/relaxed (dkimpy-signed)"
		expect vdkim "$f" "rsa$bits"
	else
		bad "dkimpy sign with rsa$bits failed" "$(cat "$f.err")"
	fi
done

# Negative cases: TNEG[file]="result-regex code context"
declare -A TNEG=()

# tamper_body IN OUT: a line inserted at the top of the body.
tamper_body() {
	perl -0777 -pe 's/(\r?\n)(\r?\n)/$1$2Tampered line$2/' "$1" >"$2"
}
# tamper_subject IN OUT: the Subject value changed.
tamper_subject() {
	perl -0777 -pe 's/^(subject:[ \t]*)/${1}Tampered: /mi' "$1" >"$2"
}

for signer in dkimpy opendkim; do
	for alg in "${ALGS[@]}"; do
		sel=$(sel_for "$alg")
		for canon in "${CANONS[@]}"; do
			d=$WORK/psign/$signer.$sel.${canon/\//-}
			for m in 01-plain-small.eml 03-mixed-case-names.eml 07-bare-lf.eml \
				09-utf8-headers.eml 13-trailing-blank-lines.eml; do
				[[ -s $d/$m ]] || continue # its signing failure is reported
				has_body "$m" || { bad "tamper list: $m has no body (test bug)"; continue; }
				t=$WORK/tamper/$signer.$sel.${canon/\//-}.body.$m
				tamper_body "$d/$m" "$t"
				if cmp -s "$d/$m" "$t"; then
					bad "test bug: body tampering left $signer/$m unchanged"
				else
					TNEG[$t]="fail body-hash-mismatch $m a=$alg c=$canon ($signer-signed, body changed)"
				fi
				t=$WORK/tamper/$signer.$sel.${canon/\//-}.subject.$m
				tamper_subject "$d/$m" "$t"
				if cmp -s "$d/$m" "$t"; then
					bad "test bug: Subject tampering left $signer/$m unchanged"
				else
					TNEG[$t]="fail bad-signature $m a=$alg c=$canon ($signer-signed, Subject changed)"
				fi
			done
		done
	done
done

# Keys that are not there, or revoked.
for sel in nokey revoked; do
	for m in 01-plain-small.eml 07-bare-lf.eml; do
		f=$WORK/tamper/dkimpy.$sel.$m
		if ! "$PY" "$DKIMPY_PEER" sign --key "$WORK/keys/rsa2048.private" \
			--selector "$sel" --domain "$DOMAIN" <"$WORK/corpus/$m" >"$f" 2>"$f.err"; then
			bad "dkimpy sign with selector $sel failed" "$(cat "$f.err")"
			continue
		fi
		if [[ $sel == nokey ]]; then
			TNEG[$f]="permerror key-not-found $m s=nokey (no DNS record)"
		else
			TNEG[$f]="permerror|fail key-revoked $m s=revoked (p= empty)"
		fi
	done
done
NEGFILES=("${!TNEG[@]}")

phase "peers signed"
# vdkimctl verify: the peer-signed messages and the negative cases, in two
# halves in parallel.
ALLV=("${VFILES_vdkim[@]}" "${NEGFILES[@]}")
half=$(((${#ALLV[@]} + 1) / 2))
run_bg ps.vdkim1 bash -c "$VLOOP" vloop "$VDKIMCTL" "${ALLV[@]:0:half}"
run_bg ps.vdkim2 bash -c "$VLOOP" vloop "$VDKIMCTL" "${ALLV[@]:half}"
wait_bg
phase "vdkimctl verified"
cat "$WORK/out/ps.vdkim1.out" "$WORK/out/ps.vdkim2.out" >"$WORK/out/ps.vdkim.out"
cat "$WORK/out/ps.vdkim1.err" "$WORK/out/ps.vdkim2.err" >"$WORK/out/ps.vdkim.err"
VRC[ps.vdkim]="${VRC[ps.vdkim1]},${VRC[ps.vdkim2]}"
parse_out ps vdkim

# exit status per file from the loop output ("FILE rc=N ...")
declare -A FRC=()
while read -r f rc _; do
	[[ $rc == rc=* ]] && FRC[$f]=${rc#rc=}
done <"$WORK/out/ps.vdkim.out"

check_expected ps
# a passing message must also make vdkimctl verify exit 0
for key in "${!EXPECT[@]}"; do
	f=${key#*|}
	[[ -n ${FRC[$f]:-} ]] || continue # reported above
	if [[ ${FRC[$f]} == 0 ]]; then
		ok "vdkim: ${CTX[$f]}: exit status 0"
	else
		bad "vdkim: ${CTX[$f]}: exit status ${FRC[$f]}, want 0" "${OUT["vdkim|$f"]:-}"
	fi
done

for f in "${NEGFILES[@]}"; do
	read -r wres wcode ctx <<<"${TNEG[$f]}"
	out=${OUT["vdkim|$f"]:-}
	if [[ -z $out ]]; then
		bad "vdkim: $ctx: no output from vdkimctl verify" "$(vcontext ps vdkim)"
		continue
	fi
	# the one signature of the message, whatever its selector
	got=""
	for k in "${!RES[@]}"; do
		[[ $k == "vdkim|$f|"* ]] && got=${RES[$k]}
	done
	gres=${got%% *} gcode=${got#* }
	if [[ -n $got && $gres =~ ^($wres)$ && $gcode == "$wcode" ]]; then
		ok "vdkim: $ctx: $gres ($gcode)"
	else
		bad "vdkim: $ctx: got '${got:-nothing}', want ${wres//|/ or } ($wcode)" "$out"
	fi
	if [[ ${FRC[$f]:-} == 0 ]]; then
		bad "vdkim: $ctx: exit status 0 for a message without a passing signature" "$out"
	else
		ok "vdkim: $ctx: exit status ${FRC[$f]:-?}"
	fi
done

# ------------------------------------------------------------ 5. summary

echo "interop: $((SECONDS - START)) s, work in ${INTEROP_KEEP:+kept }$WORK" >&2
cleanup_run
finish
