#!/bin/bash
# bench/device_bench.sh BUILD_DIR - signing rates per device, in one run:
# software keys, a SoftHSM2 token (PKCS#11 ENGINE), a swtpm TPM (tpm2
# provider), and the simulated offload card (20 ms per signature, 64
# slots: a ceiling of 64 / 0.020 = 3200 signatures/s) driven synchronously
# and through a batch (the asynchronous path).  The devices are started
# here and stopped on exit.  Needs root only for nothing; uses
# tests/lib/devices.sh.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
source "$ROOT/tests/lib/devices.sh"
BUILD=$(cd "${1:?usage: bench/device_bench.sh BUILD_DIR}" && pwd) || exit 2
BENCH=$BUILD/device_bench
SO=$BUILD/vdkim.so
SIM=$BUILD/device_sim/vdkim_sim.so
PIN=24681357
PORT=$((26000 + ($$ % 400) * 2))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-devbench.XXXXXX") || exit 1
trap 'dev_swtpm_stop; rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for f in "$BENCH" "$SO" "$SIM" "$BUILD/vdkimctl"; do
	[[ -e $f ]] || { echo "device_bench: $f not built" >&2; exit 1; }
done
dev_softhsm_init "$WORK/hsm" bench "$PIN" || exit 1
dev_swtpm_start "$WORK/tpm" "$PORT" || exit 1
dev_tpm_make_key 0x81000001 || exit 1
(umask 077 && echo "$PIN" >"$WORK/pin")
"$BUILD/vdkimctl" keygen --selector k1 --domain example.com --dir "$WORK" >/dev/null || exit 1

rule='domain "*" { dkim-sign = yes }'
printf '%s\n' "domain-key = \"k1,example.com,$WORK/k1.private\"" "$rule" >"$WORK/soft.conf"
printf '%s\n' 'openssl-engine hsm { engine-id = "pkcs11"' \
    "module-path = \"$DEV_SOFTHSM_MODULE\" pin-file = \"$WORK/pin\" }" \
    'domain-key = "h1,example.com,pkcs11:token=bench;object=dkim;type=private"' \
    "$rule" >"$WORK/hsm.conf"
printf '%s\n' 'openssl-provider tpm { module = "tpm2" property-query = "?provider=tpm2"' \
    'uri-schemes = {"handle"} }' 'domain-key = "t1,example.com,handle:0x81000001"' \
    "$rule" >"$WORK/tpm.conf"
printf '%s\n' "openssl-provider card { module = \"$SIM\"" \
    'property-query = "?provider=vdkimsim" uri-schemes = {"file"} serialize = no }' \
    "domain-key = \"c1,example.com,file:$WORK/k1.private\"" "$rule" >"$WORK/card.conf"
export VDKIM_SIM_LATENCY_MS=20 VDKIM_SIM_SLOTS=64

# $1 label, then device_bench arguments; prints the label and the rate.
run() {
	local label=$1 out rate
	shift
	if ! out=$("$BENCH" --so "$SO" --from a@example.com "$@" 2>&1); then
		printf '%-44s FAILED: %s\n' "$label" "$out" >&2
		echo 0
		return
	fi
	rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$out")
	printf '%-44s %10s signatures/s\n' "$label" "$rate" >&2
	echo "$rate"
}

echo "device signing rates (RSA-2048, one message per signature)"
soft=$(run "software key, 1 thread" --config "$WORK/soft.conf" --messages 3000)
run "software key, 2 threads" --config "$WORK/soft.conf" --messages 4000 --threads 2 >/dev/null
hsm=$(run "SoftHSM2 via libp11 ENGINE, 1 thread" --config "$WORK/hsm.conf" --messages 1000)
run "SoftHSM2 via libp11 ENGINE, 4 threads" --config "$WORK/hsm.conf" --messages 1000 --threads 4 >/dev/null
tpm=$(run "swtpm via tpm2 provider, 1 thread" --config "$WORK/tpm.conf" --messages 100)
sync=$(run "simulated card, synchronous, 1 thread" --config "$WORK/card.conf" --messages 100)
async=$(run "simulated card, async batch of 64, 1 thread" --config "$WORK/card.conf" \
    --mode async --in-flight 64 --messages 16000)
awk -v a="$async" -v s="$sync" -v soft="$soft" -v h="$hsm" -v t="$tpm" 'BEGIN {
	printf "card ceiling 3200/s (64 slots / 20 ms): async reaches %.1f%% of it (%.0f/s), a synchronous caller %.0f/s (%.0fx)\n",
	    100 * a / 3200, a, s, (s > 0 ? a / s : 0)
	printf "SoftHSM2 %.2fx and TPM %.3fx the software rate\n",
	    (soft > 0 ? h / soft : 0), (soft > 0 ? t / soft : 0)
	if (a >= 0.8 * 3200) print "async target (80% of the ceiling): met"
	else print "async target (80% of the ceiling): NOT met (a loaded CPU? the card computes real signatures)"
}'
