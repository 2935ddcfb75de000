# shellcheck shell=bash
# tests/lib/devices.sh - signing devices in software, for tests and
# benches: a SoftHSM2 token, a swtpm TPM, the simulated offload card.
#
#   dev_softhsm_init DIR LABEL PIN   a SoftHSM2 config and token dir under
#                                    DIR (exports SOFTHSM2_CONF), a token
#                                    LABEL and an RSA-2048 key pair
#                                    generated inside it (object "dkim")
#   dev_swtpm_start DIR PORT         swtpm on 127.0.0.1:PORT (control
#                                    PORT+1), state in DIR; exports the
#                                    TCTIs for tpm2-tools and tpm2-openssl;
#                                    waits (bounded) until it answers
#   dev_tpm_make_key HANDLE          an RSA-2048 key created in the TPM,
#                                    persisted at HANDLE (0x81000001)
#   dev_swtpm_stop                   stops it (TERM, bounded wait, KILL)
#
# Every function returns non-zero with a message on stderr on failure.
# Callers stop swtpm in their exit trap (dev_swtpm_stop is idempotent).

DEV_SOFTHSM_MODULE=${DEV_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
DEV_SWTPM_PID=""
DEV_SWTPM_DIR=""

dev_softhsm_init() {
	local dir=$1 label=$2 pin=$3 out
	mkdir -p "$dir/tokens" || return 1
	cat >"$dir/softhsm2.conf" <<EOC
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOC
	export SOFTHSM2_CONF=$dir/softhsm2.conf
	if ! out=$(softhsm2-util --init-token --free --label "$label" \
	    --pin "$pin" --so-pin 87654321 2>&1); then
		echo "devices: softhsm2-util --init-token failed: $out" >&2
		return 1
	fi
	# The key pair is generated inside the token: it never exists outside.
	if ! out=$(pkcs11-tool --module "$DEV_SOFTHSM_MODULE" --token-label \
	    "$label" --login --pin "$pin" --keypairgen --key-type rsa:2048 \
	    --label dkim --id 01 2>&1); then
		echo "devices: pkcs11-tool --keypairgen failed: $out" >&2
		return 1
	fi
}

dev_swtpm_start() {
	local dir=$1 port=$2 i
	DEV_SWTPM_DIR=$dir
	mkdir -p "$dir" || return 1
	swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
	    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
	    --tpmstate "dir=$dir" --flags not-need-init,startup-clear \
	    --pid "file=$dir/swtpm.pid" --log "file=$dir/swtpm.log" --daemon ||
		{ echo "devices: swtpm did not start" >&2; return 1; }
	export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
	export TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=$port"
	for ((i = 0; i < 50; i++)); do
		DEV_SWTPM_PID=$(cat "$dir/swtpm.pid" 2>/dev/null)
		if [[ -n $DEV_SWTPM_PID ]] && tpm2_getrandom 4 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "devices: swtpm on port $port does not answer" >&2
	return 1
}

dev_tpm_make_key() {
	local handle=$1 d=$DEV_SWTPM_DIR out
	# Without a resource manager, transient objects must be flushed by
	# hand or the TPM runs out of object slots.
	if ! out=$({ tpm2_flushcontext -t &&
	    tpm2_createprimary -Q -C o -c "$d/prim.ctx" &&
	    tpm2_create -Q -C "$d/prim.ctx" -G rsa2048 -u "$d/k.pub" \
	        -r "$d/k.priv" &&
	    tpm2_flushcontext -t &&
	    tpm2_load -Q -C "$d/prim.ctx" -u "$d/k.pub" -r "$d/k.priv" \
	        -c "$d/k.ctx" &&
	    tpm2_evictcontrol -Q -C o -c "$d/k.ctx" "$handle" &&
	    tpm2_flushcontext -t; } 2>&1); then
		echo "devices: creating the TPM key failed: $out" >&2
		return 1
	fi
}

dev_swtpm_stop() {
	local i
	[[ -n $DEV_SWTPM_PID ]] || return 0
	kill "$DEV_SWTPM_PID" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$DEV_SWTPM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$DEV_SWTPM_PID" 2>/dev/null
	DEV_SWTPM_PID=""
	return 0
}
