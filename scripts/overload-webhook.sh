#!/usr/bin/env bash
# Overload harness for the admission webhook (issue 7): serves `changelint-webhook` over TLS on
# loopback, measures it at low concurrency, drives it far above capacity with N connections and
# then with 10N, then drops back to low load. For each phase it prints throughput,
# p50/p99/p99.9/max, the 503 answers (shed: over --max-in-flight or past the deadline), other
# non-2xx answers, transport errors, the server's own count of what it shed, and its peak
# (VmHWM) and current RSS.
#
#   scripts/overload-webhook.sh
#   OVERLOAD_BODY=500k OVERLOAD_MAX_IN_FLIGHT=16 OVERLOAD_CONNECTIONS=200 scripts/overload-webhook.sh
#
# Settings (environment):
#   OVERLOAD_BODY           AdmissionReview file, or `500k` for the 500 KB review that
#                           `gen-corpus --reviews` writes (judged on the blocking pool, holding
#                           its in-flight slot). Default: the incident, an UPDATE of a log-shipper
#                           DaemonSet that drops its limits (answered 200 with allowed=false).
#   OVERLOAD_CONNECTIONS    N for the overload phase; the next phase uses 10N (default 512).
#   OVERLOAD_MAX_IN_FLIGHT  the webhook's --max-in-flight (default: the webhook's, 256).
#   OVERLOAD_TIMEOUT        the webhook's --request-timeout, in seconds (default 2).
#   OVERLOAD_SECONDS        length of each phase (default 20).
#
# What "holds" means: under overload every answer arrives within the request deadline (p99.9 and
# max under it, no client timeouts); what the webhook cannot judge in time is answered 503 at
# once rather than queued; peak RSS stays about the same when connections go up 10x; the
# recovery phase's latencies are back to the baseline's. Needs wrk (built with OpenSSL) and
# curl. The load generator shares the machine: on a small machine the figures bound both.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${OVERLOAD_DIR:-${TMPDIR:-/tmp}/changelint-overload}
SECONDS_LOAD=${OVERLOAD_SECONDS:-20}
CONNECTIONS=${OVERLOAD_CONNECTIONS:-512}
MAX_IN_FLIGHT=${OVERLOAD_MAX_IN_FLIGHT:-}
DEADLINE=${OVERLOAD_TIMEOUT:-2}
PORT=${OVERLOAD_PORT:-18643}
METRICS_PORT=${OVERLOAD_METRICS_PORT:-18644}
BODY=${OVERLOAD_BODY:-$ROOT/scripts/overload/daemonset-update.json}

command -v wrk >/dev/null || { echo "overload-webhook: wrk is required (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "overload-webhook: curl is required" >&2; exit 2; }
# Each connection is a file descriptor in wrk and in the webhook.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNECTIONS * 10 + 1024)) ]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

echo "== building changelint-webhook and gen-corpus (release)" >&2
cargo build --release --quiet --locked --manifest-path "$ROOT/Cargo.toml" \
    -p changelint-webhook -p changelint-bench --bin changelint-webhook --bin gen-corpus
BIN=$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release

mkdir -p "$WORK"
if [ "$BODY" = 500k ]; then
    "$BIN/gen-corpus" --objects 10 --reviews "$WORK/corpus" >/dev/null 2>&1
    BODY=$WORK/corpus/review-500k.json
fi
"$BIN/changelint-webhook" certs --out "$WORK/certs" --dns localhost --ip 127.0.0.1 >/dev/null 2>&1
limit_args=()
if [ -n "$MAX_IN_FLIGHT" ]; then
    limit_args=(--max-in-flight "$MAX_IN_FLIGHT")
fi
"$BIN/changelint-webhook" serve --listen "127.0.0.1:$PORT" \
    --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" \
    --metrics-listen "127.0.0.1:$METRICS_PORT" --request-timeout "$DEADLINE" \
    "${limit_args[@]}" >"$WORK/webhook.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -ksf "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -ksf "https://127.0.0.1:$PORT/readyz" >/dev/null || { echo "webhook did not become ready" >&2; cat "$WORK/webhook.log" >&2; exit 1; }

mib() { awk -v key="$1:" '$1 == key {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
# A counter of the webhook's metrics, 0 before it is first counted.
counter() {
    curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk -v name="$1" '$1 == name {value = $2} END {printf "%d", value + 0}'
}
shed_overloaded() { counter 'changelint_webhook_rejected_requests_total{reason="overloaded"}'; }
shed_deadline() { counter 'changelint_webhook_rejected_requests_total{reason="deadline"}'; }

printf '%-12s %6s %8s %8s %8s %8s %8s %8s %8s %8s %9s %8s %8s %9s %8s %6s\n' \
    phase conns requests req/s p50_ms p99_ms p99.9_ms max_ms 503 other_non2xx 'errors' \
    shed_busy shed_late peak_mib rss_mib load1
phase() {
    local name=$1 threads=$2 conns=$3
    local overloaded_before deadline_before result
    overloaded_before=$(shed_overloaded)
    deadline_before=$(shed_deadline)
    result=$(OVERLOAD_BODY="$BODY" wrk -t"$threads" -c"$conns" -d"${SECONDS_LOAD}s" --timeout 30s \
        -s "$ROOT/scripts/overload/report.lua" "https://127.0.0.1:$PORT/validate" 2>&1 |
        sed -n 's/^RESULT //p')
    [ -n "$result" ] || { echo "overload-webhook: wrk printed no result for $name" >&2; exit 1; }
    local requests rps p50 p99 p999 max status_503 other connect read write timeout
    read -r requests rps p50 p99 p999 max status_503 other connect read write timeout <<<"$result"
    printf '%-12s %6s %8s %8s %8s %8s %8s %8s %8s %8s %9s %8s %8s %9s %8s %6s\n' \
        "$name" "$conns" "$requests" "$rps" "$p50" "$p99" "$p999" "$max" "$status_503" "$other" \
        "$connect/$read/$write/$timeout" \
        "$(($(shed_overloaded) - overloaded_before))" "$(($(shed_deadline) - deadline_before))" \
        "$(mib VmHWM)" "$(mib VmRSS)" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "== body: $(basename "$BODY") ($(wc -c <"$BODY") bytes); deadline ${DEADLINE}s;" \
    "max in flight ${MAX_IN_FLIGHT:-256 (default)}; ${SECONDS_LOAD}s per phase; $(nproc) cores" >&2
echo "== errors: connect/read/write/timeout (client side); shed_busy, shed_late: the webhook's" \
    "503s over --max-in-flight and past the deadline; load1: the machine's 1-minute load" \
    "average at the phase's end, to tell a shared machine's runs apart" >&2
phase baseline 1 4
phase overload 2 "$CONNECTIONS"
phase overload-10x 2 $((CONNECTIONS * 10))
phase recovery 1 4
echo "== reviews judged (metrics):"
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E '^changelint_webhook_requests_total' || true
kill -0 "$pid" 2>/dev/null && echo "== webhook still running after overload: yes" || { echo "== webhook DIED" >&2; exit 1; }
