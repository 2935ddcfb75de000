#!/bin/bash
# tests/hsm/run.sh BUILD_DIR - keys held by devices, end to end.
#
# Real devices in software, started here and stopped on exit: a SoftHSM2
# token whose key pair is generated inside it (signed through Debian's
# libp11 "pkcs11" ENGINE), a swtpm TPM with a persistent key (signed
# through the tpm2-openssl provider), and the simulated offload card
# (tests/device_sim, a provider answering after a fixed delay with N
# slots).  Signatures are checked by dkimpy and libopendkim fetching the
# keys, published with "vdkimctl dns-record" from the devices, from
# dnsmasq in a private network namespace.
#
#  1. config: device blocks, errors with FILE:LINE, no PIN in the output
#  2. signing through each device; verified by dkimpy and libopendkim
#  3. many threads on each device; a forking host (keys opened after fork)
#  4. failures at load (token absent, wrong PIN, TPM down): config-test;
#     vdkimctl sign --config answers as vdkim.so (unchanged and exit 0, or
#     exit 75 under dkim-require), explain and config-test say why
#  5. failures while signing: deferred with the device's reason code under
#     dkim-require; signing resumes by itself, in the same process, when
#     the token (ENGINE path) or the TPM (provider path) is back
#  6. software fallback (off by default) and its key-pair check
#  7. the asynchronous path against the simulated card: every signature
#     verifies, the card's in-flight bound holds and is used; a failing
#     card (VDKIM_SIM_FAIL_EVERY) with a stats-file: vdkimctl stats counts
#     its device errors by device and code and the messages' outcomes;
#     the harness
#     (vdkim-harness, sign-batch = 64) delivering mail signed by the card;
#     the same with a faulty card (every Nth signature corrupted): no bad
#     signature is delivered, each corruption is a message deferred with
#     signature-self-check-failed (retried, then signed); with
#     domain-key-fallback the software key signs instead
#  7b. reload: a harness on the token, SIGHUPs with the config unchanged
#     keep signing; a changed device that cannot open is refused and the
#     old key signs on; a fixed PIN file signs at the next message after
#     SIGHUP; the TPM's key across SIGHUPs
#  8. VDKIM_ENGINE=0: openssl-engine refused at its line (not HSM_QUICK)
#
# HSM_QUICK=1 (hsm-san) skips 8 and uses smaller loads.  Needs root.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC1091
source "$ROOT/tests/lib/report.sh"
# shellcheck disable=SC1091
source "$ROOT/tests/lib/dns_netns.sh"
# shellcheck disable=SC1091
source "$ROOT/tests/lib/devices.sh"

PY=/usr/bin/python3
if (($# != 1)); then
	echo "usage: bash tests/hsm/run.sh BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
SO=$BUILD/vdkim.so
STEPS=$BUILD/hsm_steps
DBENCH=$BUILD/device_bench
SIM=$BUILD/device_sim/vdkim_sim.so
VDKIMCTL=${VDKIMCTL:-$BUILD/vdkimctl}
PEERS=${PEERS:-$BUILD/peers}
QUICK=${HSM_QUICK:-}
PIN=73914682
PORT=$((24000 + ($$ % 400) * 2))
FROM=alice@example.com
STEPS_PID=""
HPID=""

fatal() {
	bad "$@"
	finish
}

cleanup_run() {
	[[ -z $STEPS_PID ]] || kill "$STEPS_PID" 2>/dev/null
	[[ -z $HPID ]] || kill -9 "$HPID" 2>/dev/null
	[[ -z ${RPID:-} ]] || kill -9 "$RPID" 2>/dev/null
	dev_swtpm_stop
	[[ -z ${WORK:-} ]] || rm -rf "$WORK"
}

[[ $(id -u) == 0 ]] || fatal "the device tests need root (network namespace)"
for f in "$SO" "$STEPS" "$DBENCH" "$SIM" "$VDKIMCTL" "$PEERS/opendkim_peer" \
    "$BUILD/vdkim-harness"; do
	[[ -x $f || -f $f ]] || fatal "not built: $f"
done
for c in softhsm2-util pkcs11-tool swtpm tpm2_createprimary; do
	command -v "$c" >/dev/null || fatal "$c missing (scripts/deps.sh)"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-hsm.XXXXXX") || fatal "mktemp"
DNS_NETNS_EXIT_HOOK=cleanup_run
dns_netns_init || fatal "dns_netns_init"

# ------------------------------------------------------------- devices

dev_softhsm_init "$WORK/hsm" vdkim "$PIN" || fatal "SoftHSM2 token"
dev_swtpm_start "$WORK/tpm" "$PORT" || fatal "swtpm"
dev_tpm_make_key 0x81000001 || fatal "TPM key"
(umask 077 && echo "$PIN" >"$WORK/pin" && echo 11112222 >"$WORK/badpin")
mkdir -p "$WORK/keys" "$WORK/out"
"$VDKIMCTL" keygen --selector sim1 --domain example.com --dir "$WORK/keys" \
    >/dev/null || fatal "keygen for the card's key"

# $1 file, $2 pin file, $3 extra lines
hsm_conf() {
	cat >"$1" <<EOF
# SoftHSM2 through libp11's ENGINE
openssl-engine hsm {
    engine-id = "pkcs11"
    module-path = "$DEV_SOFTHSM_MODULE"
    pin-file = "$2"
    retry-interval = 1
    timeout = 5
}
domain-key = "hsm1,example.com,pkcs11:token=vdkim;object=dkim;type=private"
$3
domain "*" {
    dkim-sign = yes
    dkim-require = yes
}
EOF
}
hsm_conf "$WORK/hsm.conf" "$WORK/pin" ""
hsm_conf "$WORK/hsm-badpin.conf" "$WORK/badpin" ""
cat >"$WORK/tpm.conf" <<EOF
openssl-provider tpm {
    module = "tpm2"
    property-query = "?provider=tpm2"
    uri-schemes = {"handle"}
    retry-interval = 1
    timeout = 5
}
domain-key = "tpm1,example.com,handle:0x81000001"
domain "*" {
    dkim-sign = yes
    dkim-require = yes
}
EOF
cat >"$WORK/sim.conf" <<EOF
openssl-provider card {
    module = "$SIM"
    property-query = "?provider=vdkimsim"
    uri-schemes = {"file"}
    serialize = no
}
domain-key = "sim1,example.com,file:$WORK/keys/sim1.private"
domain "*" { dkim-sign = yes }
EOF

# ------------------------------------------------------------- 1. config

if out=$("$VDKIMCTL" config-test --config "$WORK/hsm.conf" 2>&1) &&
    [[ $out == *"config OK"* && $out == *"openssl-engine hsm (line 2)"* ]]; then
	ok "config-test: engine device"
else
	bad "config-test: engine device" "$out"
fi
if [[ $out != *"$PIN"* && $out == *"pin from file $WORK/pin"* ]]; then
	ok "config-test names where the PIN comes from, never the PIN"
else
	bad "config-test shows the PIN or not its source" "$out"
fi
if out=$("$VDKIMCTL" config-test --config "$WORK/tpm.conf" 2>&1) &&
    [[ $out == *"config OK"* && $out == *"2048 bits  handle:0x81000001"* ]]; then
	ok "config-test: provider device (TPM)"
else
	bad "config-test: provider device (TPM)" "$out"
fi

# $1 name, $2 expected "LINE: words", then the config text
conf_error() {
	local name=$1 want=$2 out
	shift 2
	printf '%s\n' "$@" >"$WORK/err.conf"
	if out=$("$VDKIMCTL" config-test --config "$WORK/err.conf" 2>&1); then
		bad "config error: $name accepted" "$out"
	elif [[ $out == *"err.conf:$want"* ]]; then
		ok "config error: $name"
	else
		bad "config error: $name (wanted err.conf:$want)" "$out"
	fi
}
conf_error "PIN in a key URI (masked)" "1: domain-key: a key URI must not carry the PIN (put it in the device's pin-file or pin-env), not \"s,example.com,pkcs11:token=t;object=k;pin-value=****\"" \
    'domain-key = "s,example.com,pkcs11:token=t;object=k;pin-value=1234"'
conf_error "PIN in init-commands (masked)" '3: init-commands must not set the PIN (use pin-file or pin-env), not "PIN:****"' \
    'openssl-engine e {' '  engine-id = "pkcs11"' '  init-commands = {"PIN:1234"}' '}'
# (err.conf still holds the init-command with the PIN.)
out=$("$VDKIMCTL" config-test --config "$WORK/err.conf" 2>&1)
if [[ $out == *1234* ]]; then
	bad "a refused PIN is shown" "$out"
else
	ok "a refused PIN is never shown"
fi
if out=$("$VDKIMCTL" dns-record --config "$WORK/hsm.conf" --selector s \
    --domain example.com --key "pkcs11:token=vdkim;object=nokey;pin-value=$PIN" 2>&1) ||
    [[ $out == *"$PIN"* || $out != *"pin-value=****"*"must not carry the PIN"* ]]; then
	bad "dns-record: a key URI with the PIN refused, PIN not shown" "$out"
else
	ok "dns-record: a key URI with the PIN refused, PIN not shown"
fi

# pin-file: only its owner may read it (a PIN opens the device).
cp "$WORK/pin" "$WORK/pin-0640" && chmod 0640 "$WORK/pin-0640"
hsm_conf "$WORK/hsm-0640.conf" "$WORK/pin-0640" ""
if out=$("$VDKIMCTL" config-test --config "$WORK/hsm-0640.conf" 2>&1); then
	bad "config-test: a group-readable pin-file accepted" "$out"
elif [[ $out == *"device-pin"*"$WORK/pin-0640: refused: the pin-file is readable by its group (mode 0640): chmod 0600"* &&
    $out != *"$PIN"* ]]; then
	ok "config-test: a group-readable pin-file refused (file, mode, chmod)"
else
	bad "config-test: a group-readable pin-file" "$out"
fi
conf_error "URI scheme without a device" '3: domain-key s,example.com: no openssl-engine or openssl-provider serves the URI scheme "handle"' \
    'openssl-provider p { module = "tpm2"' 'uri-schemes = {"object"} }' \
    'domain-key = "s,example.com,handle:0x81000001"'
conf_error "provider without uri-schemes" "1: openssl-provider p: uri-schemes" \
    'openssl-provider p { module = "tpm2" }'
conf_error "bad retry-interval" "3: an interval" \
    'openssl-engine e {' '  engine-id = "pkcs11"' '  retry-interval = soon' '}'
conf_error "pin-file and pin-env" "3: openssl-engine e: give pin-file or pin-env" \
    'openssl-engine e {' '  engine-id = "pkcs11"  pin-file = "/x"' '  pin-env = "X" }'

# ------------------------------------------------------------- 2. signing

if "$VDKIMCTL" dns-record --config "$WORK/hsm.conf" \
    --key "pkcs11:token=vdkim;object=dkim;type=private" --selector hsm1 \
    --domain example.com >"$WORK/hsm1.txt" 2>"$WORK/err" &&
    "$VDKIMCTL" dns-record --config "$WORK/tpm.conf" --key handle:0x81000001 \
    --selector tpm1 --domain example.com >"$WORK/tpm1.txt" 2>>"$WORK/err"; then
	ok "dns-record from the token's and the TPM's public keys"
else
	bad "dns-record from devices" "$WORK/err"
fi
dns_netns_add_zone "$WORK/hsm1.txt" "$WORK/tpm1.txt" "$WORK/keys/sim1.txt" ||
	fatal "zone"
dns_netns_start || fatal "dnsmasq"

# Verifies FILE with dkimpy and libopendkim over DNS; $2 names the check.
verify() {
	local f=$1 what=$2 out
	if out=$(dns_netns_exec timeout 30 "$PY" "$ROOT/tests/peers/dkimpy_peer.py" \
	    verify "$f" 2>&1) && [[ $out == *"dkim=pass"* ]]; then
		ok "dkimpy verifies $what"
	else
		bad "dkimpy verifies $what" "$out"
	fi
	if out=$(dns_netns_exec timeout 30 "$PEERS/opendkim_peer" verify "$f" 2>&1); then
		ok "libopendkim verifies $what"
	else
		bad "libopendkim verifies $what" "$out"
	fi
}

steps_start() {
	rm -f "$WORK/in" "$WORK/outp"
	mkfifo "$WORK/in" "$WORK/outp"
	"$STEPS" "$SO" "$1" "$FROM" <"$WORK/in" >"$WORK/outp" 2>>"$WORK/steps.err" &
	STEPS_PID=$!
	exec 7>"$WORK/in" 8<"$WORK/outp"
	LINE=""
	read -r -t 60 LINE <&8
	[[ $LINE == ready ]]
}
step() {
	LINE=""
	echo "$1" >&7
	read -r -t 120 LINE <&8
}
# stop_wait PID: waits up to 10 s for PID to end, then kills it.
stop_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
steps_stop() {
	echo quit >&7
	exec 7>&- 8<&-
	stop_wait "$STEPS_PID"
	STEPS_PID=""
}
expect_step() { # CMD PATTERN NAME
	step "$1"
	# shellcheck disable=SC2053 # a glob on purpose
	if [[ $LINE == $2 ]]; then ok "$3"; else bad "$3" "got: $LINE" "$WORK/steps.err"; fi
}

THREADS="threads 8 25"
FORKS="fork 4 5"
[[ -z $QUICK ]] || { THREADS="threads 4 5"; FORKS="fork 2 2"; }

for dev in hsm tpm; do
	steps_start "$WORK/$dev.conf" || { bad "$dev: host starts" "$WORK/steps.err"; continue; }
	expect_step "save $WORK/out/$dev.eml" "signed d=example.com s=${dev}1" \
	    "$dev: signed through the device"
	verify "$WORK/out/$dev.eml" "the $dev signature"
	expect_step "$THREADS" "threads ok *" "$dev: many threads at once"
	expect_step "$FORKS" "fork ok" "$dev: forked children open their own session"
	expect_step "sign" "signed *" "$dev: the parent still signs after the fork"
	steps_stop
done

# ------------------------------------------------------------- 3. at load

# vdkimctl with a key its device does not give: never a signature of a
# 0-bit key, never "exit 1 and nothing" - the answer vdkim.so gives.
# The same token config without dkim-require: sent unsigned.
sed '/dkim-require/d' "$WORK/hsm.conf" >"$WORK/hsm-nr.conf"
sed '/dkim-require/d' "$WORK/hsm-badpin.conf" >"$WORK/hsm-badpin-nr.conf"
printf 'From: Alice <%s>\r\nTo: bob@example.org\r\nSubject: device away\r\n\r\nbody\r\n' \
    "$FROM" >"$WORK/away.eml"
# $1 what, $2 code, $3 config without dkim-require, $4 with it
cli_device_fails() {
	local what=$1 code=$2 nr=$3 req=$4 rc out
	"$VDKIMCTL" sign --config "$nr" --vmta mta1 <"$WORK/away.eml" \
	    >"$WORK/away.out" 2>"$WORK/away.err"
	rc=$?
	if ((rc == 0)) && cmp -s "$WORK/away.eml" "$WORK/away.out" &&
	    grep -q "not signed ($code): " "$WORK/away.err"; then
		ok "sign --config, $what: the message unchanged, exit 0, $code on stderr"
	else
		bad "sign --config, $what: rc=$rc (wanted 0, the message unchanged)" \
		    "$WORK/away.err"
	fi
	"$VDKIMCTL" sign --config "$req" --vmta mta1 <"$WORK/away.eml" \
	    >"$WORK/away.out" 2>"$WORK/away.err"
	rc=$?
	if ((rc == 75)) && [[ ! -s $WORK/away.out ]] &&
	    grep -q "deferred ($code): " "$WORK/away.err"; then
		ok "sign --config, $what, dkim-require: exit 75, nothing written"
	else
		bad "sign --config, $what, dkim-require: rc=$rc (wanted 75, no output)" \
		    "$WORK/away.err"
	fi
	out=$("$VDKIMCTL" explain --config "$nr" --vmta mta1 <"$WORK/away.eml" 2>/dev/null)
	rc=$?
	if ((rc == 1)) && [[ $out == "verdict: nosign ($code): "* &&
	    $out == *"to change: "* && $out != *"0-bit"* &&
	    $out != *"would be signed"* && $out == *"not reached"* ]]; then
		ok "explain, $what: not signed ($code), the key shown as not reached"
	else
		bad "explain, $what: rc=$rc (wanted 1, nosign $code)" "$out"
	fi
	out=$("$VDKIMCTL" explain --config "$req" --vmta mta1 <"$WORK/away.eml" 2>/dev/null)
	rc=$?
	if ((rc == 2)) && [[ $out == "verdict: defer ($code): "* &&
	    $out != *"0-bit"* && $out != *"would be signed"* ]]; then
		ok "explain, $what, dkim-require: deferred ($code)"
	else
		bad "explain, $what, dkim-require: rc=$rc (wanted 2, defer $code)" "$out"
	fi
	out=$("$VDKIMCTL" config-test --config "$nr" 2>&1)
	rc=$?
	if ((rc == 78)) && [[ $out == *"s=hsm1 "*"NOT REACHED: $code: "* &&
	    $out != *" 0 bits"* && $out != *"0-bit"* ]]; then
		ok "config-test, $what: the key NOT REACHED ($code), no size"
	else
		bad "config-test, $what: rc=$rc (wanted 78, NOT REACHED $code)" "$out"
	fi
}
# The token present first: the same commands sign, and say so.
if "$VDKIMCTL" sign --config "$WORK/hsm-nr.conf" --vmta mta1 <"$WORK/away.eml" \
    >"$WORK/away.out" 2>"$WORK/away.err" &&
    [[ $(head -c 15 "$WORK/away.out") == "DKIM-Signature:" ]] &&
    out=$("$VDKIMCTL" explain --config "$WORK/hsm-nr.conf" --vmta mta1 \
    <"$WORK/away.eml" 2>&1) && [[ $out == *"would be signed"*"(2048-bit key)"* ]]; then
	ok "sign --config, explain: the token present, it signs"
else
	bad "sign --config, explain with the token present" "$WORK/away.err" "$out"
fi
cli_device_fails "wrong PIN" device-pin "$WORK/hsm-badpin-nr.conf" \
    "$WORK/hsm-badpin.conf"
mv "$WORK/hsm/tokens" "$WORK/hsm/tokens.away"
mkdir "$WORK/hsm/tokens"
cli_device_fails "token absent" device-unavailable "$WORK/hsm-nr.conf" \
    "$WORK/hsm.conf"
rmdir "$WORK/hsm/tokens"
mv "$WORK/hsm/tokens.away" "$WORK/hsm/tokens"

if out=$("$VDKIMCTL" config-test --config "$WORK/hsm-badpin.conf" 2>&1); then
	bad "config-test: wrong PIN accepted" "$out"
elif [[ $out == *"device-pin"* && $out != *11112222* ]]; then
	ok "config-test: wrong PIN is device-pin (PIN not shown)"
else
	bad "config-test: wrong PIN" "$out"
fi
mv "$WORK/hsm/tokens" "$WORK/hsm/tokens.away"
mkdir "$WORK/hsm/tokens"
if out=$("$VDKIMCTL" config-test --config "$WORK/hsm.conf" 2>&1); then
	bad "config-test: absent token accepted" "$out"
elif [[ $out == *"device-unavailable"* ]]; then
	ok "config-test: absent token is device-unavailable"
else
	bad "config-test: absent token" "$out"
fi
rmdir "$WORK/hsm/tokens"
mv "$WORK/hsm/tokens.away" "$WORK/hsm/tokens"
# SoftHSM2 without its config file: the PKCS#11 module's own error, newest
# first and whole, not the rdrand engine SoftHSM2 looks up on its way.
if out=$(SOFTHSM2_CONF=$WORK/hsm/missing.conf "$VDKIMCTL" config-test \
    --config "$WORK/hsm.conf" 2>&1); then
	bad "config-test: SoftHSM2 without its config accepted" "$out"
elif [[ $out == *"device-unavailable: device hsm: opening the key failed (device-unavailable): engine routines: failed loading private key; pkcs11 engine: invalid parameter; PKCS#11 module: General Error"* &&
    $out != *rdrand* ]]; then
	ok "config-test: SoftHSM2 without its config: the PKCS#11 module's error, no stale ones"
else
	bad "config-test: SoftHSM2 without its config" "$out"
fi

# ------------------------------------------------------------- 4. signing time

steps_start "$WORK/hsm.conf" || bad "hsm: host starts" "$WORK/steps.err"
expect_step sign "signed *" "hsm: signs before the token goes"
mv "$WORK/hsm/tokens" "$WORK/hsm/tokens.away"
mkdir "$WORK/hsm/tokens"
expect_step sign "deferred device-*" "hsm: token gone: deferred with a device reason"
expect_step sign "deferred device-*" "hsm: token still gone: deferred at once"
sleep 1.2
# While the token is still gone, a retry (after retry-interval) starts
# libp11 afresh and finds no token: an unavailable device, not a stale one.
expect_step sign "deferred device-unavailable*" "hsm: token still gone after retry-interval: device-unavailable"
rmdir "$WORK/hsm/tokens"
mv "$WORK/hsm/tokens.away" "$WORK/hsm/tokens"
sleep 1.2
# The same process: the engine's session was retired, libp11 restarted
# (ENGINE_finish/ENGINE_init) and the key found again with a fresh handle.
expect_step "save $WORK/out/hsm-again.eml" "signed d=example.com s=hsm1" \
    "hsm: token back: signing resumes after retry-interval, no restart"
expect_step sign "signed *" "hsm: and keeps signing"
steps_stop
verify "$WORK/out/hsm-again.eml" "a token signature after the token came back"

# The token away when the host loads: the key's public half is unknown
# until the device is first reached.  Once it is back, signatures are made
# and checked against the public half the device then gave (every device
# signature is self-checked): signing resumes without a reload.
mv "$WORK/hsm/tokens" "$WORK/hsm/tokens.away"
mkdir "$WORK/hsm/tokens"
steps_start "$WORK/hsm.conf" || bad "hsm (away at load): host starts" "$WORK/steps.err"
expect_step sign "deferred device-*" "hsm: token away at load: deferred with a device reason"
rmdir "$WORK/hsm/tokens"
mv "$WORK/hsm/tokens.away" "$WORK/hsm/tokens"
sleep 1.2
expect_step "save $WORK/out/hsm-late.eml" "signed d=example.com s=hsm1" \
    "hsm: token reached after load: signed and self-checked, no reload"
steps_stop
verify "$WORK/out/hsm-late.eml" "a token signature when the token came after load"

steps_start "$WORK/tpm.conf" || bad "tpm: host starts" "$WORK/steps.err"
expect_step sign "signed *" "tpm: signs before the TPM goes"
dev_swtpm_stop
expect_step sign "deferred device-*" "tpm: TPM gone: deferred with a device reason"
if out=$("$VDKIMCTL" config-test --config "$WORK/tpm.conf" 2>&1); then
	bad "config-test: TPM down accepted" "$out"
elif [[ $out == *"device-unavailable"* ]]; then
	ok "config-test: TPM down is device-unavailable"
else
	bad "config-test: TPM down" "$out"
fi
dev_swtpm_start "$WORK/tpm" "$PORT" || bad "swtpm restarts"
sleep 1.2
expect_step "save $WORK/out/tpm-again.eml" "signed *" "tpm: signing resumes when the TPM is back"
steps_stop
verify "$WORK/out/tpm-again.eml" "a TPM signature made after recovery"

# ------------------------------------------------------------- 5. fallback

# A key imported into the token, its software copy as the fallback.
"$VDKIMCTL" keygen --selector imp --domain example.com --dir "$WORK/keys" >/dev/null
openssl pkey -in "$WORK/keys/imp.private" -outform DER -out "$WORK/imp.der" 2>/dev/null
if out=$(pkcs11-tool --module "$DEV_SOFTHSM_MODULE" --token-label vdkim --login \
    --pin "$PIN" --write-object "$WORK/imp.der" --type privkey --label imp \
    --id 02 2>&1); then
	hsm_conf "$WORK/fb.conf" "$WORK/pin" 'domain-key-fallback = {"hsm1,example.com,'"$WORK"'/keys/imp.private"}'
	sed -i 's/object=dkim;/object=imp;/' "$WORK/fb.conf"
	steps_start "$WORK/fb.conf" || bad "fallback: host starts" "$WORK/steps.err"
	expect_step sign "signed *" "fallback: the device signs while it can"
	mv "$WORK/hsm/tokens" "$WORK/hsm/tokens.away"
	mkdir "$WORK/hsm/tokens"
	expect_step sign "signed *" "fallback: token gone, the software key signs"
	rmdir "$WORK/hsm/tokens"
	mv "$WORK/hsm/tokens.away" "$WORK/hsm/tokens"
	steps_stop
else
	bad "importing a key into the token" "$out"
fi
hsm_conf "$WORK/fbbad.conf" "$WORK/pin" 'domain-key-fallback = {"hsm1,example.com,'"$WORK"'/keys/sim1.private"}'
if out=$("$VDKIMCTL" config-test --config "$WORK/fbbad.conf" 2>&1); then
	bad "fallback of another key pair accepted" "$out"
elif [[ $out == *"not the device's key pair"* ]]; then
	ok "fallback of another key pair refused"
else
	bad "fallback of another key pair" "$out"
fi

# ------------------------------------------------------------- 6. async

N=400
[[ -z $QUICK ]] || N=80
if out=$(VDKIM_SIM_SLOTS=8 VDKIM_SIM_LATENCY_MS=5 VDKIM_SIM_STATS="$WORK/stats" \
    timeout 120 "$DBENCH" --so "$SO" --config "$WORK/sim.conf" --from "$FROM" \
    --mode async --in-flight 32 --messages "$N" --out "$WORK/out" --keep 3 2>&1); then
	ok "async: $N messages through the card, all signed"
else
	bad "async through the card" "$out"
fi
stats=$(cat "$WORK/stats" 2>/dev/null)
if [[ $stats == "requests=$N max_in_flight=8 slots=8" ]]; then
	ok "async: the card held 8 requests at once, never more"
else
	bad "async: the card's in-flight bound" "stats: $stats"
fi
verify "$WORK/out/signed.0.eml" "an asynchronous signature"
verify "$WORK/out/signed.2.eml" "another asynchronous signature"
if out=$(VDKIM_SIM_SLOTS=8 VDKIM_SIM_LATENCY_MS=5 VDKIM_SIM_STATS="$WORK/stats" \
    timeout 60 "$DBENCH" --so "$SO" --config "$WORK/sim.conf" --from "$FROM" \
    --mode sync --threads 4 --messages 40 2>&1) &&
    [[ $(cat "$WORK/stats") == *"max_in_flight=4 "* ]]; then
	ok "sync callers through the card: one request in flight per thread"
else
	bad "sync callers through the card" "$out" "$(cat "$WORK/stats" 2>/dev/null)"
fi

# ------------------------------------------------------------- 6a. counted

# A card that fails (VDKIM_SIM_FAIL_EVERY=2: its 2nd request is answered
# with an error) under dkim-require, with a stats-file: the first message
# is signed, the second deferred with the device's code, the third
# deferred at once (the key waits retry-interval before the card is asked
# again).  vdkimctl stats, reading the file the module mapped, counts
# the device errors by device and code and the messages by outcome.
# (It reads through a config that names only the stats-file: loading the
# card's config would load the card, which hsm-san builds with ASan, into
# the plain vdkimctl.)
sed -e 's/{ dkim-sign = yes }/{ dkim-sign = yes  dkim-require = yes }/' \
    -e 's/^    serialize = no$/    serialize = no\n    retry-interval = 30/' \
    "$WORK/sim.conf" >"$WORK/simfail.conf"
echo "stats-file = \"$WORK/simfail.stats\"" | tee -a "$WORK/simfail.conf" \
    >"$WORK/simfail-reader.conf"
if VDKIM_SIM_FAIL_EVERY=2 VDKIM_SIM_LATENCY_MS=1 steps_start "$WORK/simfail.conf"; then
	expect_step sign "signed d=example.com s=sim1" "failing card: the 1st request signs"
	expect_step sign "deferred device-error: device card: signing failed*" \
	    "failing card: the 2nd request fails: deferred device-error, the device named"
	expect_step sign "deferred device-error*" \
	    "failing card: within retry-interval: deferred at once, device-error"
	steps_stop
else
	bad "failing card: host starts" "$WORK/steps.err"
fi
out=$("$VDKIMCTL" stats --config "$WORK/simfail-reader.conf" --json 2>&1)
if python3 -c '
import json, sys
d = json.load(sys.stdin)
n = {(m["outcome"], m["reason"]): m["count"] for m in d["messages"]}
e = {(x["device"], x["code"]): x["count"] for x in d["device_errors"]}
sys.exit(0 if n == {("signed", "ok"): 1, ("deferred", "device-error"): 2}
         and e == {("card", "device-error"): 2} else 1)' <<<"$out"; then
	ok "failing card: vdkimctl stats --json: 2 device errors (card, device-error), 1 signed, 2 deferred"
else
	bad "failing card: vdkimctl stats --json counts" "$out"
fi
out=$("$VDKIMCTL" stats --config "$WORK/simfail-reader.conf" --prometheus 2>&1)
if grep -qx 'vdkim_device_errors_total{device="card",code="device-error"} 2' <<<"$out"; then
	ok "failing card: vdkimctl stats --prometheus: vdkim_device_errors_total 2"
else
	bad "failing card: vdkimctl stats --prometheus" "$out"
fi
out=$("$VDKIMCTL" stats --config "$WORK/simfail-reader.conf" 2>&1)
if grep -q "^  card: 2 errors device-error$" <<<"$out" &&
    grep -q "signed 1, unsigned 0, deferred 2, rejected 0" <<<"$out"; then
	ok "failing card: vdkimctl stats summary: card 2 errors device-error; signed 1, deferred 2"
else
	bad "failing card: vdkimctl stats summary" "$out"
fi

# ------------------------------------------------------------- 6b. harness

# The reference MTA's delivery workers with sign-batch against the card
# (20 ms per signature, 64 slots): mail arrives over SMTP, every message
# is signed in a worker's batch and delivered to a Maildir.
HN=200
[[ -z $QUICK ]] || HN=60
HARNESS=$BUILD/vdkim-harness

# port_wait PORT: 0 once something listens on it (10 s at most).
port_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# harness_stop PID: SIGTERM, then SIGKILL if it is still there after 10 s.
harness_stop() {
	kill -TERM "$1" 2>/dev/null
	stop_wait "$1"
}
# harness_conf NAME BASECONF EXTRA: $WORK/NAME.conf, BASECONF with a
# harness block whose spool, Maildir and logs are $WORK/NAME.*; EXTRA
# lines go into the block.  Sets HPORT.
harness_conf() {
	local n=$1
	read -r HPORT < <(python3 "$ROOT/tests/harness/free_ports.py" 1)
	rm -rf "$WORK/$n.spool" "$WORK/$n.md"
	mkdir -p "$WORK/$n.spool" "$WORK/$n.md"
	cp "$2" "$WORK/$n.conf"
	cat >>"$WORK/$n.conf" <<EOF
harness {
    module = "$SO"
    spool-directory = "$WORK/$n.spool"
    listener in { address = "127.0.0.1:$HPORT" }
    maildir = "$WORK/$n.md"
    delivery-workers = 2
    sign-batch = 64
    log-file = "$WORK/$n.log"
    accounting-file = "$WORK/$n.acct"
$3
}
EOF
}
hmail() { find "$WORK/$1.md/new" -type f 2>/dev/null | wc -l; }
# harness_run NAME [VAR=VALUE...]: the harness on $WORK/NAME.conf with the
# card's settings in the environment; HN messages over SMTP, waited for
# in the Maildir (up to 120 s), then the harness stopped.
harness_run() {
	local n=$1 i
	shift
	env "$@" "$HARNESS" --config "$WORK/$n.conf" 2>"$WORK/$n.err" &
	HPID=$!
	port_wait "$HPORT"
	t0=$(date +%s%N)
	python3 "$ROOT/tests/harness/load_client.py" 127.0.0.1 "$HPORT" \
	    "$WORK/$n.load" 0 "$HN" 16 >"$WORK/$n.load.err" 2>&1
	for ((i = 0; i < 1200; i++)); do
		(($(hmail "$n") < HN)) || break
		sleep 0.1
	done
	t1=$(date +%s%N)
	harness_stop "$HPID"
	HPID=""
}

harness_conf h "$WORK/sim.conf" ""
harness_run h VDKIM_SIM_SLOTS=64 VDKIM_SIM_LATENCY_MS=20 VDKIM_SIM_STATS="$WORK/hstats"
if [[ $(grep -c '^ACCEPTED' "$WORK/h.load" 2>/dev/null) == "$HN" && $(hmail h) == "$HN" ]]; then
	ok "harness sign-batch: $HN messages over SMTP, all delivered"
else
	bad "harness sign-batch: delivered $(hmail h) of $HN" "$WORK/h.load.err" "$WORK/h.log"
fi
vfail=0
for f in "$WORK"/h.md/new/*; do
	[[ -f $f ]] || continue
	if ! "$VDKIMCTL" verify --key "sim1._domainkey.example.com=$WORK/keys/sim1.private" \
	    <"$f" >"$WORK/hverify" 2>&1 || ! grep -q 'dkim=pass.*header.s=sim1' "$WORK/hverify"; then
		vfail=$((vfail + 1))
		cp "$WORK/hverify" "$WORK/hverify.bad"
	fi
done
if ((vfail == 0 && $(hmail h) == HN)); then
	ok "harness sign-batch: all $HN signatures verify"
else
	bad "harness sign-batch: $vfail signature(s) do not verify" "$WORK/hverify.bad"
fi
nacct=$(grep -c $'result=delivered\t.*signatures=d=example.com s=sim1\treason-code=ok' \
    "$WORK/h.acct" 2>/dev/null)
if [[ $nacct == "$HN" && $(wc -l <"$WORK/h.acct") == "$HN" ]]; then
	ok "harness sign-batch: one accounting line per delivery, signed by sim1"
else
	bad "harness sign-batch: accounting ($nacct signed)" "$WORK/h.acct"
fi
# The workers' own count and the card's: many signatures at once.
peak=$(sed -n 's/.*sign-batch 64: \([0-9]*\) message(s) signed through the batch, at most \([0-9]*\) in flight.*/\1 \2/p' \
    "$WORK/h.log" | awk '{n += $1; if ($2 > p) p = $2} END {print n + 0, p + 0}')
card=$(sed -n 's/.*max_in_flight=\([0-9]*\).*/\1/p' "$WORK/hstats" 2>/dev/null)
if [[ ${peak% *} == "$HN" ]] && ((${peak#* } > 1 && ${card:-0} > 1)) &&
    grep -q "keeps up to 64 pre-delivery signature(s) in flight (sign-batch)" "$WORK/h.log"; then
	ok "harness sign-batch: the batch was used (a worker: ${peak#* } in flight at most; the card: $card)"
else
	bad "harness sign-batch: batch not in use (batched, peak: $peak; card: ${card:-none})" \
	    "$WORK/h.log" "$(cat "$WORK/hstats" 2>/dev/null)"
fi
echo "  (throughput, not a test: $HN messages accepted and delivered in $(((t1 - t0) / 1000000)) ms)"

# ------------------------------------------------------------- 6c. reload

# A running harness reloading (SIGHUP, and after each key check) must
# never make a working device key unavailable: an unchanged device keeps
# its session, a changed one is opened and tested before the swap, and a
# device that was failing is tried again at once.  retry-interval = 30:
# a key made unusable by a reload would stay so for the whole test.
read -r RPORT < <(python3 "$ROOT/tests/harness/free_ports.py" 1)
RLOG=$WORK/reload.log
RPID=""
mkdir -p "$WORK/rspool" "$WORK/rmd"
(umask 077 && echo "$PIN" >"$WORK/rpin")
# $1 file, $2 device block (engine or provider, without its closing
# brace), $3 domain-key line
reload_conf() {
	cat >"$1" <<EOF
$2
    retry-interval = 30
}
$3
domain "*" {
    dkim-sign = yes
    dkim-require = yes
}
harness {
    module = "$SO"
    spool-directory = "$WORK/rspool"
    listener in { address = "127.0.0.1:$RPORT" }
    sign-at = pre-queue
    maildir = "$WORK/rmd"
    delivery-workers = 1
    log-file = "$RLOG"
    accounting-file = "$WORK/racct.log"
}
EOF
}
RHSM_KEY='domain-key = "hsm1,example.com,pkcs11:token=vdkim;object=dkim;type=private"'
rhsm_block() { # $1 module-path
	printf 'openssl-engine hsm {\n    engine-id = "pkcs11"\n    module-path = "%s"\n    pin-file = "%s"\n    timeout = 5' \
	    "$1" "$WORK/rpin"
}
RTPM_BLOCK='openssl-provider tpm {
    module = "tpm2"
    property-query = "?provider=tpm2"
    uri-schemes = {"handle"}
    timeout = 5'
RTPM_KEY='domain-key = "tpm1,example.com,handle:0x81000001"'
reload_conf "$WORK/rhsm.conf" "$(rhsm_block "$DEV_SOFTHSM_MODULE")" "$RHSM_KEY"
reload_conf "$WORK/rhsm-badmod.conf" "$(rhsm_block /nonexistent/libsofthsm2.so)" "$RHSM_KEY"
reload_conf "$WORK/rhsm-changed.conf" "$(rhsm_block "$DEV_SOFTHSM_MODULE")
    serialize = no" "$RHSM_KEY"
reload_conf "$WORK/rtpm.conf" "$RTPM_BLOCK" "$RTPM_KEY"
cp "$WORK/rhsm.conf" "$WORK/rcur.conf"

rstart() {
	: >"$RLOG"
	"$BUILD/vdkim-harness" --config "$WORK/rcur.conf" 2>>"$WORK/rharness.err" &
	RPID=$!
	port_wait "$RPORT"
}
rstop() {
	harness_stop "$RPID"
	RPID=""
}
# rhup: SIGHUP, then waits for the reload's outcome in the log.
rhup() {
	local n
	n=$(grep -c 'module config reload' "$RLOG")
	kill -HUP "$RPID"
	for ((i = 0; i < 300; i++)); do
		(($(grep -c 'module config reload' "$RLOG") > n)) && return 0
		sleep 0.1
	done
	return 1
}
# rsend WHAT SELECTOR: one message over SMTP (signed before it is queued);
# accepted, delivered, and its signature by SELECTOR verified by dkimpy.
RN=0
rsend() {
	local what=$1 sel=$2 out f
	RN=$((RN + 1))
	timeout 60 swaks --server "127.0.0.1:$RPORT" --timeout 30 --helo client.test \
	    --from "$FROM" --to bob@example.org --h-Message-ID "<reload-$RN@hsm.test>" \
	    >"$WORK/rswaks.out" 2>&1
	if ! grep -q '<- *250 .*queued' "$WORK/rswaks.out"; then
		bad "$what: accepted and signed" "$WORK/rswaks.out" "$(tail -n 5 "$RLOG")"
		return 1
	fi
	for ((i = 0; i < 200; i++)); do
		f=$(grep -ls "^Message-ID: <reload-$RN@hsm.test>" "$WORK/rmd/new/"* 2>/dev/null | head -n 1)
		[[ -z $f ]] || break
		sleep 0.1
	done
	if out=$(dns_netns_exec timeout 30 "$PY" "$ROOT/tests/peers/dkimpy_peer.py" \
	    verify "$f" 2>&1) && [[ $out == *"dkim=pass"* && $(grep -c "^DKIM-Signature:.* s=$sel;" "$f") == 1 ]]; then
		ok "$what: signed by $sel, dkimpy verifies"
	else
		bad "$what: signed by $sel, dkimpy verifies (${f:-not delivered})" "$out"
	fi
}
# rdefer WHAT CODE: one message refused with 451 and the device's code.
rdefer() {
	RN=$((RN + 1))
	timeout 60 swaks --server "127.0.0.1:$RPORT" --timeout 30 --helo client.test \
	    --from "$FROM" --to bob@example.org --h-Message-ID "<reload-$RN@hsm.test>" \
	    >"$WORK/rswaks.out" 2>&1
	if grep -q "<\*\* *451 .*($2)" "$WORK/rswaks.out"; then
		ok "$1: deferred (451, $2)"
	else
		bad "$1: deferred (451, $2)" "$WORK/rswaks.out"
	fi
}

if rstart; then
	rsend "reload: the token's key before any reload" hsm1
	for n in 1 2 3; do
		if rhup && grep -q 'module config reloaded' "$RLOG"; then
			rsend "reload: SIGHUP $n, config unchanged, the next message" hsm1
		else
			bad "reload: SIGHUP $n, config unchanged, reloads" "$RLOG"
		fi
	done
	if grep -q 'init failed\|next attempt in' "$RLOG"; then
		bad "reload: unchanged config: the device never fails" "$(grep 'init failed\|next attempt' "$RLOG")"
	else
		ok "reload: unchanged config: the device never fails (no 'init failed')"
	fi
	# A changed device block that cannot open: the old policy stays.
	cp "$WORK/rhsm-badmod.conf" "$WORK/rcur.conf"
	if rhup && grep -q "module config reload failed, the old one stays in force: .*device hsm: .*device-unavailable" "$RLOG"; then
		ok "reload: a device that cannot open: refused, the device's error logged"
	else
		bad "reload: a device that cannot open: refused, the device's error logged" "$(tail -n 5 "$RLOG")"
	fi
	rsend "reload: after the refused reload, the old key" hsm1
	# A changed device block that opens: swapped in, it signs at once.
	cp "$WORK/rhsm-changed.conf" "$WORK/rcur.conf"
	n=$(grep -c 'module config reloaded' "$RLOG")
	if rhup && (($(grep -c 'module config reloaded' "$RLOG") > n)); then
		ok "reload: a changed device block that opens is taken"
	else
		bad "reload: a changed device block that opens is taken" "$(tail -n 5 "$RLOG")"
	fi
	rsend "reload: the changed device's first message" hsm1
	rstop
else
	bad "reload: the harness starts on the token" "$WORK/rharness.err"
fi

# A wrong PIN at start: deferred; the PIN file fixed and SIGHUP: the
# very next message is signed (not retry-interval later).
cp "$WORK/rhsm.conf" "$WORK/rcur.conf"
(umask 077 && echo 11112222 >"$WORK/rpin")
if rstart; then
	rdefer "reload: wrong PIN at start" device-pin
	(umask 077 && echo "$PIN" >"$WORK/rpin")
	if rhup; then
		rsend "reload: PIN fixed, SIGHUP, the very next message" hsm1
	else
		bad "reload: PIN fixed, SIGHUP" "$RLOG"
	fi
	rstop
else
	bad "reload: the harness starts with a wrong PIN" "$WORK/rharness.err"
fi

# The TPM (tpm2 provider): unchanged config, SIGHUPs.
cp "$WORK/rtpm.conf" "$WORK/rcur.conf"
if rstart; then
	rsend "reload: the TPM's key before any reload" tpm1
	for n in 1 2; do
		if rhup && grep -q 'module config reloaded' "$RLOG"; then
			rsend "reload: TPM, SIGHUP $n, config unchanged, the next message" tpm1
		else
			bad "reload: TPM, SIGHUP $n reloads" "$RLOG"
		fi
	done
	rstop
else
	bad "reload: the harness starts on the TPM" "$WORK/rharness.err"
fi

# ------------------------------------------------------------- 6d. faulty card

# The card corrupts every CORRUPT-th signature (one line each in a log).
# Every signature is checked before it leaves (device keys always), so a
# corrupted one is never delivered: under dkim-require its message is
# deferred with signature-self-check-failed and retried (1 s later) until
# signed; with domain-key-fallback the software key signs it at once.
CORRUPT=7
# faulty_run NAME: the harness with the faulty card; sets FDELIVERED,
# FCORRUPT (the card's count), FPASS and FOTHER (dkimpy's verdicts on
# the delivered messages' signatures, over DNS).
faulty_run() {
	local n=$1
	rm -f "$WORK/$n.corrupt"
	harness_run "$n" VDKIM_SIM_SLOTS=64 VDKIM_SIM_LATENCY_MS=20 \
	    VDKIM_SIM_CORRUPT_EVERY=$CORRUPT VDKIM_SIM_CORRUPT_LOG="$WORK/$n.corrupt"
	FDELIVERED=$(hmail "$n")
	FCORRUPT=$(wc -l <"$WORK/$n.corrupt" 2>/dev/null || echo 0)
	dns_netns_exec timeout 300 "$PY" "$ROOT/tests/peers/dkimpy_peer.py" \
	    verify "$WORK/$n.md"/new/* >"$WORK/$n.dkimpy" 2>&1
	FPASS=$(grep -c ' dkim=pass d=example.com s=sim1 ' "$WORK/$n.dkimpy")
	FOTHER=$(grep -vc ' dkim=pass ' "$WORK/$n.dkimpy")
}
# faulty_check NAME WHAT SELFCHECK_PATTERN: the checks both runs share.
faulty_check() {
	local n=$1 what=$2 nself
	if ((FDELIVERED == HN)); then
		ok "faulty card, $what: all $HN messages delivered"
	else
		bad "faulty card, $what: delivered $FDELIVERED of $HN" "$WORK/$n.log"
	fi
	if ((FPASS == HN && FOTHER == 0)); then
		ok "faulty card, $what: dkimpy over DNS: $FPASS good signatures, 0 bad, 0 unsigned"
	else
		bad "faulty card, $what: dkimpy: $FPASS pass, $FOTHER bad or unsigned" "$WORK/$n.dkimpy"
	fi
	nself=$(grep -c "$3" "$WORK/$n.acct" 2>/dev/null)
	if ((FCORRUPT > 0 && nself == FCORRUPT)); then
		ok "faulty card, $what: $FCORRUPT corruption(s) by the card, $nself signature-self-check-failed logged"
	else
		bad "faulty card, $what: the card corrupted $FCORRUPT, $nself self-check failure(s) logged" \
		    "$WORK/$n.acct" "$WORK/$n.log"
	fi
}

sed 's/{ dkim-sign = yes }/{ dkim-sign = yes  dkim-require = yes }/' "$WORK/sim.conf" \
    >"$WORK/simreq.conf"
harness_conf f "$WORK/simreq.conf" "    retry-initial = 1
    retry-max = 1"
faulty_run f
faulty_check f "dkim-require" $'result=deferred\t.*reason-code=signature-self-check-failed\t'
if grep -q 'reason=signature d=example.com s=sim1: the RSA signature just made does not verify' \
    "$WORK/f.acct"; then
	ok "faulty card: the log line says which signature and why"
else
	bad "faulty card: no reason sentence in the log line" "$WORK/f.acct"
fi

{ cat "$WORK/sim.conf"
  echo "domain-key-fallback = {\"sim1,example.com,$WORK/keys/sim1.private\"}"; } >"$WORK/simfb.conf"
harness_conf g "$WORK/simfb.conf" ""
faulty_run g
faulty_check g "domain-key-fallback" \
    $'result=delivered\t.*signatures=d=example.com s=sim1\treason-code=signature-self-check-failed\t'

# ------------------------------------------------------------- 7. no ENGINE

if [[ -z $QUICK ]]; then
	if out=$(make -s -C "$ROOT" BUILD="$WORK/noengine" VDKIM_ENGINE=0 \
	    "$WORK/noengine/vdkimctl" 2>&1 | grep -v '^cc '); then :; fi
	if [[ ! -x $WORK/noengine/vdkimctl ]]; then
		bad "VDKIM_ENGINE=0 builds" "$out"
	elif out=$("$WORK/noengine/vdkimctl" config-test --config "$WORK/hsm.conf" 2>&1); then
		bad "VDKIM_ENGINE=0: openssl-engine accepted" "$out"
	elif [[ $out == *"hsm.conf:2: openssl-engine hsm: this vdkim was built without the ENGINE path"* ]]; then
		ok "VDKIM_ENGINE=0: openssl-engine refused at its line"
	else
		bad "VDKIM_ENGINE=0: openssl-engine" "$out"
	fi
	if out=$("$WORK/noengine/vdkimctl" config-test --config "$WORK/tpm.conf" 2>&1) &&
	    [[ $out == *"config OK"* ]]; then
		ok "VDKIM_ENGINE=0: the provider path works"
	else
		bad "VDKIM_ENGINE=0: provider path" "$out"
	fi
fi

finish
