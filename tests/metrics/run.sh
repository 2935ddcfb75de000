#!/usr/bin/env bash
# tests/metrics/run.sh BUILD_DIR - the counters, end to end.
#
#   1  Config: metrics-address must be loopback (harness and milter refuse
#      another with FILE:LINE); promtool check rules / check config on the
#      shipped conf-examples/prometheus files.
#   2  The harness (pre-queue signing, stats-file) takes a known mix:
#      3 signed, 2 signing-disabled, 1 deferred (dkim-require, no key).
#      GET /metrics shows exactly those counts, passes "promtool check
#      metrics", answers 405 / 404 / 431 to anything else, and a silent
#      client on the metrics port does not hold up SMTP.  vdkimctl stats
#      (summary, --json, --prometheus) reads the same counts from the file.
#   3  A private Prometheus 2.42 (own config, data folder and loopback
#      port, started and stopped here) scrapes the harness: its HTTP API
#      has the series with those values; the shipped alert rules load and
#      VdkimUnsignedMail fires for the VMTA whose mail was deferred.
#   4  SIGHUP: the counters survive the reload, which is counted.
#   5  vdkim-milter serves GET /metrics on its metrics-address.
#   6  The real Exim 4.96 (tests/lib/exim.sh), signing pre-queue through
#      ${dlfunc} with a stats-file: messages from many parallel SMTP
#      sessions (one Exim process each) add up exactly in vdkimctl stats;
#      after Exim's own reload (SIGHUP: a new daemon) they are still there
#      and keep adding.
#
# Needs root (Exim's -C, runuser), prometheus (promtool), exim4-daemon-
# heavy, python3.  METRICS_KEEP=1 keeps the work folder; METRICS_VERBOSE=1
# lists passing checks too.
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034 # read by tests/lib/report.sh
REPORT_VERBOSE=${METRICS_VERBOSE:-}
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"

if [[ $# -ne 1 ]]; then
	echo "usage: bash tests/metrics/run.sh BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd)
for f in vdkim-harness vdkim-milter vdkim.so vdkimctl; do
	if [[ ! -f $BUILD/$f ]]; then
		echo "metrics: $BUILD/$f not found (make first)" >&2
		exit 2
	fi
done
for tool in promtool prometheus python3 runuser; do
	if ! command -v $tool >/dev/null; then
		echo "metrics: $tool is needed (make deps)" >&2
		exit 2
	fi
done

# A 0755 work folder: the Exim user reads the module, config and keys
# from copies here (the checkout may be root-only).
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-metrics.XXXXXX")
chmod 0755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/keys"
install -m 0755 "$BUILD/vdkim.so" "$BUILD/vdkimctl" "$BUILD/vdkim-harness" \
    "$BUILD/vdkim-milter" "$WORK/bin/"
CTL=$WORK/bin/vdkimctl
PROBE="python3 $ROOT/tests/metrics/probe.py"
declare -A PID=()

cleanup() {
	local p
	for p in "${PID[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PID[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if declare -F exim_stop >/dev/null; then
		exim_stop >/dev/null 2>&1
	fi
	if [[ -n ${METRICS_KEEP:-} ]]; then
		echo "metrics: work folder kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

port_open() {
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$1" 2>/dev/null
}

# has FILE LINE: FILE holds exactly the line.
has() {
	grep -qxF -- "$2" "$1"
}

# check_line WHAT FILE LINE
check_line() {
	if has "$2" "$3"; then ok "$1"; else bad "$1" "wanted: $3" "$2"; fi
}

SMTP_PORT=$(free_port)
HM_PORT=$(free_port)
MM_PORT=$(free_port)
PROM_PORT=$(free_port)

for k in rsa:s1 ed25519:e1; do
	"$CTL" keygen --type "${k%%:*}" --selector "${k#*:}" \
	    --domain example.com --dir "$WORK/keys" >/dev/null ||
	    { bad "keygen ${k#*:}"; finish; }
done

# The policy: "signer" signs (RSA and Ed25519), "nosign" does not,
# "require" must sign (nokey.example has no key: deferred).
policy() {
	cat <<EOF
stats-file = "$1"
domain-key = "s1,example.com,$WORK/keys/s1.private"
domain-key = "e1,example.com,$WORK/keys/e1.private"
source trusted { process-x-dkim-options = no }
virtual-mta signer {
    domain "*" {
        dkim-sign = yes
        dkim-algorithm = rsa-sha256
        second-dkim-sign = yes
        second-dkim-algorithm = ed25519-sha256
    }
}
virtual-mta nosign { domain "*" { dkim-sign = no } }
virtual-mta require {
    domain "*" {
        dkim-sign = yes
        dkim-require = yes
    }
}
EOF
}

harness_block() {
	cat <<EOF
harness {
    module = "$WORK/bin/vdkim.so"
    hostname = "metrics.harness.test"
    spool-directory = "$WORK/spool"
    maildir = "$WORK/maildir"
    log-file = "$WORK/harness.log"
    sign-at = pre-queue
    metrics-address = "$1"
    listener in {
        address = "127.0.0.1:$SMTP_PORT"
        source = "trusted"
        allow-x-virtual-mta = yes
    }
}
EOF
}

milter_block() {
	cat <<EOF
milter {
    module = "$WORK/bin/vdkim.so"
    listen = "inet:$(free_port)@127.0.0.1"
    log-file = "$WORK/milter.log"
    metrics-address = "$1"
}
EOF
}

# ============================================================ 1 config

test_config() {
	local out=$WORK/check.out
	{ policy "$WORK/h.stats"; harness_block "192.0.2.1:9465"; } >"$WORK/bad-h.conf"
	"$WORK/bin/vdkim-harness" --config "$WORK/bad-h.conf" --check >"$out" 2>&1
	local rc=$?
	if [[ $rc -eq 78 ]] && grep -q "bad-h.conf:[0-9]*:.*loopback" "$out"; then
		ok "harness: a metrics-address not on loopback is refused (FILE:LINE)"
	else
		bad "harness: a metrics-address not on loopback is refused (rc $rc)" "$out"
	fi
	{ policy "$WORK/h.stats"; milter_block "10.1.2.3:9466"; } >"$WORK/bad-m.conf"
	"$WORK/bin/vdkim-milter" --config "$WORK/bad-m.conf" --check >"$out" 2>&1
	rc=$?
	if [[ $rc -eq 78 ]] && grep -q "bad-m.conf:[0-9]*:.*loopback" "$out"; then
		ok "milter: a metrics-address not on loopback is refused (FILE:LINE)"
	else
		bad "milter: a metrics-address not on loopback is refused (rc $rc)" "$out"
	fi
	{ policy "relative.stats"; } >"$WORK/bad-s.conf"
	"$CTL" config-test --config "$WORK/bad-s.conf" >"$out" 2>&1
	if [[ $? -ne 0 ]] && grep -q "bad-s.conf:1: stats-file must be an absolute" "$out"; then
		ok "config-test: a relative stats-file is refused (FILE:LINE)"
	else
		bad "config-test: a relative stats-file is refused" "$out"
	fi
	if promtool check rules "$ROOT/conf-examples/prometheus/vdkim-alerts.yml" >"$out" 2>&1; then
		ok "promtool check rules: the shipped alert rules"
	else
		bad "promtool check rules: the shipped alert rules" "$out"
	fi
	if promtool check config "$ROOT/conf-examples/prometheus/prometheus.yml" >"$out" 2>&1; then
		ok "promtool check config: the shipped scrape config"
	else
		bad "promtool check config: the shipped scrape config" "$out"
	fi
}

# ============================================================ 2 harness

SERIES_SIGNED='vdkim_messages_total{hook="pre-queue",vmta="signer",outcome="signed",reason="ok"}'
SERIES_NOSIGN='vdkim_messages_total{hook="pre-queue",vmta="nosign",outcome="unsigned",reason="signing-disabled"}'
SERIES_DEFER='vdkim_messages_total{hook="pre-queue",vmta="require",outcome="deferred",reason="no-key"}'

start_harness() {
	"$WORK/bin/vdkim-harness" --config "$WORK/h.conf" >>"$WORK/harness.out" 2>&1 &
	PID[harness]=$!
	if ! wait_until 15 port_open "$SMTP_PORT" || ! wait_until 5 port_open "$HM_PORT"; then
		bad "the harness starts (SMTP and metrics ports)" "$WORK/harness.out" \
		    "$WORK/harness.log"
		finish
	fi
	ok "the harness starts with GET /metrics on 127.0.0.1:$HM_PORT"
}

send_mix() {
	local out=$WORK/send.out
	$PROBE send "$SMTP_PORT" signer alice@example.com 3 250 >"$out" 2>&1 &&
	    $PROBE send "$SMTP_PORT" nosign alice@example.com 2 250 >>"$out" 2>&1 &&
	    $PROBE send "$SMTP_PORT" require carol@nokey.example 1 451 >>"$out" 2>&1
	if [[ $? -eq 0 ]]; then
		ok "the mix: 3 signed, 2 signing-disabled (250), 1 deferred (451)"
	else
		bad "the mix: 3 signed, 2 signing-disabled, 1 deferred" "$out"
	fi
}

test_harness() {
	local m=$WORK/metrics.txt out=$WORK/out.txt
	mkdir -p "$WORK/maildir"
	{ policy "$WORK/h.stats"; harness_block "127.0.0.1:$HM_PORT"; } >"$WORK/h.conf"
	start_harness
	send_mix
	if $PROBE get "$HM_PORT" >"$m" 2>&1; then
		ok "GET /metrics: 200, text/plain; version=0.0.4"
	else
		bad "GET /metrics: 200, text/plain; version=0.0.4" "$m"
	fi
	check_line "GET /metrics: 3 signed on signer" "$m" "$SERIES_SIGNED 3"
	check_line "GET /metrics: 2 signing-disabled on nosign" "$m" "$SERIES_NOSIGN 2"
	check_line "GET /metrics: 1 deferred no-key on require" "$m" "$SERIES_DEFER 1"
	check_line "GET /metrics: 3 RSA signatures s1" "$m" \
	    'vdkim_signatures_total{domain="example.com",selector="s1",algorithm="rsa-sha256"} 3'
	check_line "GET /metrics: 3 Ed25519 signatures e1" "$m" \
	    'vdkim_signatures_total{domain="example.com",selector="e1",algorithm="ed25519-sha256"} 3'
	check_line "GET /metrics: the signing latency of 3 messages (rsa)" "$m" \
	    'vdkim_signing_duration_seconds_count{kind="rsa"} 3'
	check_line "GET /metrics: no reload yet" "$m" 'vdkim_reloads_total{result="ok"} 0'
	check_line "GET /metrics: each key's DNS check (never checked)" "$m" \
	    'vdkim_key_dns_check{domain="example.com",selector="s1",verdict="unchecked"} 1'
	if promtool check metrics <"$m" >"$out" 2>&1 && [[ ! -s $out ]]; then
		ok "promtool check metrics: the harness's output, no warning"
	else
		bad "promtool check metrics: the harness's output, no warning" "$out"
	fi
	$PROBE status "$HM_PORT" 'POST /metrics HTTP/1.1\n\n' 405 >"$out" 2>&1
	[[ $? -eq 0 ]] && ok "POST /metrics: 405" || bad "POST /metrics: 405" "$out"
	$PROBE status "$HM_PORT" 'GET /etc/passwd HTTP/1.1\n\n' 404 >"$out" 2>&1
	[[ $? -eq 0 ]] && ok "GET /other: 404" || bad "GET /other: 404" "$out"
	$PROBE status "$HM_PORT" "GET /metrics HTTP/1.1\\nX-Fill: $(head -c 4000 /dev/zero | tr '\0' a)\\n\\n" \
	    431 >"$out" 2>&1
	[[ $? -eq 0 ]] && ok "a request over 2 KB: 431" || bad "a request over 2 KB: 431" "$out"
	# A client that connects to the metrics port and says nothing holds
	# its (one) connection, never SMTP.
	$PROBE idle "$HM_PORT" 4 &
	local idle=$!
	sleep 0.5
	if timeout 10 $PROBE send "$SMTP_PORT" signer alice@example.com 1 250 >"$out" 2>&1; then
		ok "a silent metrics client does not hold up SMTP"
	else
		bad "a silent metrics client does not hold up SMTP" "$out"
	fi
	wait "$idle"
	if $PROBE get "$HM_PORT" >"$m" 2>&1 && has "$m" "$SERIES_SIGNED 4"; then
		ok "after the silent client: GET /metrics answers (4 signed)"
	else
		bad "after the silent client: GET /metrics answers (4 signed)" "$m"
	fi
	# vdkimctl reads the same counters from the file.
	"$CTL" stats --config "$WORK/h.conf" --prometheus >"$out" 2>&1
	check_line "vdkimctl stats --prometheus: 4 signed" "$out" "$SERIES_SIGNED 4"
	check_line "vdkimctl stats --prometheus: 1 deferred" "$out" "$SERIES_DEFER 1"
	"$CTL" stats --config "$WORK/h.conf" >"$out" 2>&1
	if has "$out" "  signer: signed 4, unsigned 0, deferred 0, rejected 0" &&
	    has "$out" "  nosign: signed 0, unsigned 2, deferred 0, rejected 0" &&
	    has "$out" "    unsigned signing-disabled: 2" &&
	    has "$out" "  require: signed 0, unsigned 0, deferred 1, rejected 0" &&
	    grep -q "^Top reasons" "$out" && grep -q "^DNS checks" "$out" &&
	    grep -q "^Rotation:" "$out"; then
		ok "vdkimctl stats: the summary per VMTA, reasons, DNS, rotation"
	else
		bad "vdkimctl stats: the summary per VMTA, reasons, DNS, rotation" "$out"
	fi
	"$CTL" stats --config "$WORK/h.conf" --json >"$out" 2>&1
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
n = {(m["vmta"], m["outcome"], m["reason"]): m["count"] for m in d["messages"]}
sys.exit(0 if n == {("signer","signed","ok"): 4, ("nosign","unsigned","signing-disabled"): 2,
                   ("require","deferred","no-key"): 1} else 1)' "$out"; then
		ok "vdkimctl stats --json: exactly the mix"
	else
		bad "vdkimctl stats --json: exactly the mix" "$out"
	fi
	"$CTL" stats --config "$WORK/h.conf" --bogus >"$out" 2>&1
	[[ $? -eq 64 ]] && ok "vdkimctl stats: a bad option, exit 64" ||
	    bad "vdkimctl stats: a bad option, exit 64" "$out"
	{ policy "$WORK/none.stats"; } >"$WORK/none.conf"
	"$CTL" stats --config "$WORK/none.conf" >"$out" 2>&1
	[[ $? -eq 66 ]] && grep -q "no such file" "$out" &&
	    ok "vdkimctl stats: no stats file yet, exit 66" ||
	    bad "vdkimctl stats: no stats file yet, exit 66" "$out"
	echo "not a stats file" >"$WORK/none.stats"
	"$CTL" stats --config "$WORK/none.conf" >"$out" 2>&1
	[[ $? -eq 65 ]] && grep -q "is not a vdkim stats file" "$out" &&
	    ok "vdkimctl stats: not a stats file, exit 65" ||
	    bad "vdkimctl stats: not a stats file, exit 65" "$out"
	"$CTL" stats --help >"$out" 2>&1
	[[ $? -eq 0 ]] && grep -q "stats \[--config FILE\]" "$out" &&
	    ok "vdkimctl stats --help" || bad "vdkimctl stats --help" "$out"
}

# ======================================================== 3 Prometheus

# prom_value QUERY: the value of the query's one series, or nothing.
prom_value() {
	python3 - "$PROM_PORT" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
q = urllib.parse.urlencode({"query": sys.argv[2]})
try:
    with urllib.request.urlopen("http://127.0.0.1:%s/api/v1/query?%s" % (sys.argv[1], q), timeout=5) as r:
        d = json.load(r)
except Exception:
    sys.exit(1)
res = d.get("data", {}).get("result", [])
if len(res) == 1:
    print(res[0]["value"][1])
EOF
}

prom_is() {
	[[ $(prom_value "$1") == "$2" ]]
}

# prom_alert NAME VMTA: the alert is firing for VMTA.
prom_alert() {
	python3 - "$PROM_PORT" "$1" "$2" <<'EOF'
import json, sys, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:%s/api/v1/alerts" % sys.argv[1], timeout=5) as r:
        d = json.load(r)
except Exception:
    sys.exit(1)
sys.exit(0 if any(a["labels"].get("alertname") == sys.argv[2] and
                  a["labels"].get("vmta") == sys.argv[3] and a["state"] == "firing"
                  for a in d["data"]["alerts"]) else 1)
EOF
}

test_prometheus() {
	local dir=$WORK/prom
	mkdir -p "$dir/data"
	cp "$ROOT/conf-examples/prometheus/vdkim-alerts.yml" "$dir/"
	cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - vdkim-alerts.yml
scrape_configs:
  - job_name: vdkim
    static_configs:
      - targets: ["127.0.0.1:$HM_PORT"]
EOF
	prometheus --config.file="$dir/prometheus.yml" \
	    --storage.tsdb.path="$dir/data" \
	    --web.listen-address="127.0.0.1:$PROM_PORT" \
	    --log.level=warn >"$dir/prometheus.out" 2>&1 &
	PID[prometheus]=$!
	if ! wait_until 30 port_open "$PROM_PORT"; then
		bad "a private Prometheus starts on 127.0.0.1:$PROM_PORT" "$dir/prometheus.out"
		return
	fi
	ok "a private Prometheus starts on 127.0.0.1:$PROM_PORT"
	if wait_until 30 prom_is "$SERIES_SIGNED" 4; then
		ok "Prometheus scraped the harness: 4 signed on signer"
	else
		bad "Prometheus scraped the harness: 4 signed on signer" \
		    "got: $(prom_value "$SERIES_SIGNED")" "$dir/prometheus.out"
	fi
	prom_is "$SERIES_NOSIGN" 2 && ok "Prometheus: 2 signing-disabled on nosign" ||
	    bad "Prometheus: 2 signing-disabled on nosign" "got: $(prom_value "$SERIES_NOSIGN")"
	prom_is "$SERIES_DEFER" 1 && ok "Prometheus: 1 deferred (no-key) on require" ||
	    bad "Prometheus: 1 deferred (no-key) on require" "got: $(prom_value "$SERIES_DEFER")"
	prom_is 'sum(vdkim_signatures_total)' 8 && ok "Prometheus: 8 signatures in all" ||
	    bad "Prometheus: 8 signatures in all" "got: $(prom_value 'sum(vdkim_signatures_total)')"
	# A second deferral, now that a sample exists: the alert fires for
	# "require" only (signing-disabled on nosign is the policy's wish).
	$PROBE send "$SMTP_PORT" require carol@nokey.example 1 451 >/dev/null 2>&1
	if wait_until 30 prom_alert VdkimUnsignedMail require; then
		ok "Prometheus: VdkimUnsignedMail fires for require"
	else
		bad "Prometheus: VdkimUnsignedMail fires for require" "$dir/prometheus.out"
	fi
	if prom_alert VdkimUnsignedMail nosign; then
		bad "Prometheus: no alert for nosign (signing-disabled)"
	else
		ok "Prometheus: no alert for nosign (signing-disabled)"
	fi
	kill -TERM "${PID[prometheus]}"
	wait "${PID[prometheus]}" 2>/dev/null
	unset "PID[prometheus]"
}

# ============================================================ 4 reload

test_reload() {
	local m=$WORK/metrics-reload.txt
	kill -HUP "${PID[harness]}"
	if wait_until 10 eval "$PROBE get $HM_PORT >$m 2>&1 && has $m 'vdkim_reloads_total{result=\"ok\"} 1'"; then
		ok "SIGHUP: the reload is counted"
	else
		bad "SIGHUP: the reload is counted" "$m"
	fi
	check_line "SIGHUP: the counters survive (4 signed)" "$m" "$SERIES_SIGNED 4"
	check_line "SIGHUP: the counters survive (2 deferred)" "$m" "$SERIES_DEFER 2"
	$PROBE send "$SMTP_PORT" signer alice@example.com 1 250 >/dev/null 2>&1
	$PROBE get "$HM_PORT" >"$m" 2>&1
	check_line "after the reload: counting goes on (5 signed)" "$m" "$SERIES_SIGNED 5"
	kill -TERM "${PID[harness]}"
	wait "${PID[harness]}" 2>/dev/null
	unset "PID[harness]"
}

# ============================================================ 5 milter

test_milter() {
	local m=$WORK/metrics-milter.txt out=$WORK/out.txt
	{ policy "$WORK/m.stats"; milter_block "127.0.0.1:$MM_PORT"; } >"$WORK/m.conf"
	"$WORK/bin/vdkim-milter" --config "$WORK/m.conf" >"$WORK/milter.out" 2>&1 &
	PID[milter]=$!
	if ! wait_until 15 port_open "$MM_PORT"; then
		bad "vdkim-milter serves its metrics-address" "$WORK/milter.out" "$WORK/milter.log"
		return
	fi
	if $PROBE get "$MM_PORT" >"$m" 2>&1 && has "$m" 'vdkim_reloads_total{result="ok"} 0'; then
		ok "vdkim-milter: GET /metrics"
	else
		bad "vdkim-milter: GET /metrics" "$m"
	fi
	if promtool check metrics <"$m" >"$out" 2>&1 && [[ ! -s $out ]]; then
		ok "promtool check metrics: the milter's output"
	else
		bad "promtool check metrics: the milter's output" "$out"
	fi
	kill -TERM "${PID[milter]}"
	wait "${PID[milter]}" 2>/dev/null
	unset "PID[milter]"
}

# ============================================================== 6 Exim

EXIM_SESSIONS=12   # parallel SMTP sessions, one Exim process each
EXIM_PER=5         # messages per session

exim_stats() {
	"$CTL" stats --config "$WORK/exim/vdkim.conf" --prometheus >"$1" 2>&1
}

exim_line() {
	echo "vdkim_messages_total{hook=\"pre-queue\",vmta=\"default\",outcome=\"$1\",reason=\"$2\"} $3"
}

test_exim() {
	local dir=$WORK/exim out=$WORK/out.txt s conf port sink
	if [[ ! -x /usr/sbin/exim4 ]]; then
		bad "exim4-daemon-heavy is installed (make deps)"
		return
	fi
	# shellcheck source=../lib/exim.sh
	. "$ROOT/tests/lib/exim.sh"
	EXIM_USER=$(_exim_user) || { bad "the Exim user"; return; }
	mkdir -p "$dir/stats"
	chown "$EXIM_USER:" "$dir/stats" "$WORK/keys" "$WORK/keys/"*
	policy "$dir/stats/vdkim.stats" >"$dir/vdkim.conf"
	cat >>"$dir/vdkim.conf" <<EOF
virtual-mta default { domain "*" { dkim-sign = yes } }
EOF
	chmod 0644 "$dir/vdkim.conf"
	port=$(free_port)
	sink=$(free_port)  # nothing listens: mail stays queued, signed once
	conf=$(exim_make_config "$dir" "$sink" --vdkim prequeue \
	    "$WORK/bin/vdkim.so" "$dir/vdkim.conf") ||
	    { bad "exim_make_config"; return; }
	if ! exim_start "$conf" "$port"; then
		bad "Exim starts" "$(exim_log_tail 10 "$dir")"
		return
	fi
	ok "Exim starts, signing pre-queue with a stats-file"
	# Many sessions at once: each is an Exim process of its own.
	local pids=()
	for ((s = 0; s < EXIM_SESSIONS; s++)); do
		$PROBE send "$port" default alice@example.com "$EXIM_PER" 250 \
		    >"$dir/send-$s.out" 2>&1 &
		pids+=($!)
	done
	$PROBE send "$port" default carol@other.example 3 250 >"$dir/send-u.out" 2>&1
	local failed=0
	for s in "${pids[@]}"; do wait "$s" || failed=1; done
	((failed == 0)) && ok "Exim: $EXIM_SESSIONS parallel sessions of $EXIM_PER messages accepted" ||
	    bad "Exim: parallel sessions accepted" "$dir"/send-*.out
	exim_stats "$out"
	check_line "Exim: vdkimctl stats counts every process ($((EXIM_SESSIONS * EXIM_PER)) signed)" \
	    "$out" "$(exim_line signed ok $((EXIM_SESSIONS * EXIM_PER)))"
	check_line "Exim: 3 unsigned no-key" "$out" "$(exim_line unsigned no-key 3)"
	if [[ $(stat -c %U "$dir/stats/vdkim.stats") == "$EXIM_USER" ]] ||
	    [[ $(stat -c %a "$dir/stats/vdkim.stats") == 6[46]0 ]]; then
		ok "Exim: the stats file is a 0640/0660 regular file"
	else
		bad "Exim: the stats file's mode" "$(stat -c '%U %a %F' "$dir/stats/vdkim.stats")"
	fi
	# Exim's reload: SIGHUP re-executes the daemon, which loads anew.
	kill -HUP "$EXIM_PID"
	sleep 1
	if wait_until 15 port_open "$port" &&
	    $PROBE send "$port" default alice@example.com 2 250 >"$out" 2>&1; then
		ok "Exim: mail after its reload"
	else
		bad "Exim: mail after its reload" "$out" "$(exim_log_tail 10 "$dir")"
	fi
	exim_stats "$out"
	check_line "Exim: the counters survive the reload and keep adding" \
	    "$out" "$(exim_line signed ok $((EXIM_SESSIONS * EXIM_PER + 2)))"
	exim_stop "$conf" || bad "Exim stops"
}

test_config
test_harness
test_prometheus
test_reload
test_milter
test_exim
finish
