#!/usr/bin/env bash
# bench/reload_bench.sh BUILD_DIR [KEYS] - SMTP greetings while the
# harness reloads a large config: BUILD_DIR/vdkim-harness starts on a
# config with one key, then the config is replaced by one with KEYS
# (default 10000; BENCH_RELOAD_KEYS overrides) RSA-2048 domain keys (4
# distinct keys, each copied KEYS/4 times, so that keygen takes seconds)
# and the harness gets a SIGHUP.  While the reload runs, a client opens a
# new session every 20 ms and times its 220 greeting; the same is done
# before, without a reload, as the reference.  Prints the median and the
# maximum of both, the ratio of the medians, and how long the reload took;
# the goal is a maximum under 100 ms during the reload.
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/reload_bench.sh BUILD_DIR [KEYS]}" && pwd)
NKEYS=${2:-${BENCH_RELOAD_KEYS:-10000}}
for f in "$BUILD/vdkim-harness" "$BUILD/vdkim.so" "$BUILD/vdkimctl"; do
	[[ -e $f ]] || { echo "reload_bench: $f not built" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-reloadbench.XXXXXX")
HPID=""
cleanup() {
	[[ -z $HPID ]] || kill -9 "$HPID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -m 700 "$WORK/keys"
for k in 0 1 2 3; do
	"$BUILD/vdkimctl" keygen --selector "k$k" --domain example.com \
	    --dir "$WORK/keys" >/dev/null
done
for ((i = 0; i < NKEYS; i++)); do
	cp "$WORK/keys/k$((i % 4)).private" "$WORK/keys/d$i.private"
done

harness_block() {
	cat <<EOF
domain "*" { dkim-sign = yes }
harness {
    module = "$BUILD/vdkim.so"
    spool-directory = "$WORK/spool"
    maildir = "$WORK/maildir"
    log-file = "$WORK/harness.log"
    listener in { address = "127.0.0.1:$PORT" }
}
EOF
}
{
	echo "domain-key = \"s1,d0.example,$WORK/keys/d0.private\""
	harness_block
} >"$WORK/vdkim.conf"
{
	for ((i = 0; i < NKEYS; i++)); do
		echo "domain-key = \"s1,d$i.example,$WORK/keys/d$i.private\""
	done
	harness_block
} >"$WORK/big.conf"

"$BUILD/vdkim-harness" --config "$WORK/vdkim.conf" >"$WORK/harness.out" 2>&1 &
HPID=$!

# greetings MODE: sessions every 20 ms; "idle": 100 of them; "reload":
# until the log says the reload ended (at most 600 s).  Prints
# "count median_ms max_ms".
greetings() {
	python3 - "$1" "$PORT" "$WORK/harness.log" <<'EOF'
import socket, statistics, sys, time
mode, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def reload_over():
    with open(log, errors="replace") as f:
        text = f.read()
    return "module config reloaded" in text or "reload failed" in text

lat = []
deadline = time.time() + 600
while time.time() < deadline:
    if mode == "idle" and len(lat) >= 100:
        break
    if mode == "reload" and reload_over():
        break
    t = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.settimeout(30)
    if not s.recv(512).startswith(b"220"):
        sys.exit("no 220 greeting")
    lat.append((time.monotonic() - t) * 1000)
    s.sendall(b"QUIT\r\n")
    s.close()
    time.sleep(0.02)
if not lat:
    sys.exit("no session measured")
print(len(lat), "%.2f" % statistics.median(lat), "%.2f" % max(lat))
EOF
}

for _ in $(seq 150); do
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$PORT" 2>/dev/null && break
	sleep 0.2
done
read -r IDLE_N IDLE_MED IDLE_MAX < <(greetings idle)
cp "$WORK/big.conf" "$WORK/vdkim.conf"
kill -HUP "$HPID"
read -r RL_N RL_MED RL_MAX < <(greetings reload)
if ! grep -q "module config reloaded" "$WORK/harness.log"; then
	echo "reload_bench: the reload of $NKEYS keys did not succeed:" >&2
	tail -n 5 "$WORK/harness.log" >&2
	exit 1
fi
RL_SECS=$(sed -n 's/.*module config reloaded from .* in \([0-9.]*\) s.*/\1/p' "$WORK/harness.log" | tail -n 1)
kill -TERM "$HPID"
wait "$HPID" || true
HPID=""

echo "SMTP greetings while the harness reloads $NKEYS RSA-2048 keys (the reload took $RL_SECS s):"
printf '  %-34s %6s sessions  median %7s ms  max %7s ms\n' \
    "no reload (reference)" "$IDLE_N" "$IDLE_MED" "$IDLE_MAX" \
    "during the reload" "$RL_N" "$RL_MED" "$RL_MAX"
python3 -c '
import sys
med_ratio = float(sys.argv[1]) / float(sys.argv[2])
mx = float(sys.argv[3])
print("  %-52s %6.2f" % ("median greeting, reload / no reload", med_ratio))
print("  %-52s %6.1f ms (goal < 100 ms: %s)" % ("max greeting during the reload", mx,
      "met" if mx < 100 else "NOT met"))' "$RL_MED" "$IDLE_MED" "$RL_MAX"
