#!/usr/bin/env bash
# Overload harness for the admission webhook (issue 7): serves `changelint-webhook` over TLS on
# loopback, measures its capacity at low concurrency, drives it far above capacity, then drops
# back to low load, and prints for each phase throughput, p50/p99/p99.9, shed answers (non-2xx:
# 503 past the deadline), transport errors and the server's peak RSS (VmHWM).
#
#   scripts/overload-webhook.sh
#   OVERLOAD_CONNECTIONS=1024 OVERLOAD_SECONDS=30 OVERLOAD_TIMEOUT=2 scripts/overload-webhook.sh
#
# The default body is the incident: an UPDATE of a log-shipper DaemonSet that drops its limits
# (answered 200 with allowed=false); OVERLOAD_BODY=FILE sends another AdmissionReview.
# "non2xx" counts shed (503) and refused answers; a judged deny is a 200.
#
# What "holds" means: under overload every answer arrives within the request deadline
# (`--request-timeout`, default 5 s; p99.9 and max stay near it, no client timeouts), requests
# past the deadline are answered 503 rather than queued without bound, RSS stays bounded, and
# the recovery phase's p99 is back to the baseline's. Needs wrk (built with OpenSSL) and curl.
# The load generator shares the machine: on a small machine the figures bound both.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${OVERLOAD_DIR:-${TMPDIR:-/tmp}/changelint-overload}
SECONDS_LOAD=${OVERLOAD_SECONDS:-20}
CONNECTIONS=${OVERLOAD_CONNECTIONS:-512}
DEADLINE=${OVERLOAD_TIMEOUT:-2}
PORT=${OVERLOAD_PORT:-18643}
METRICS_PORT=${OVERLOAD_METRICS_PORT:-18644}
BODY=${OVERLOAD_BODY:-$ROOT/scripts/overload/daemonset-update.json}

command -v wrk >/dev/null || { echo "overload-webhook: wrk is required (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "overload-webhook: curl is required" >&2; exit 2; }

echo "== building changelint-webhook (release)" >&2
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p changelint-webhook
BIN=$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release

mkdir -p "$WORK"
"$BIN/changelint-webhook" certs --out "$WORK/certs" --dns localhost --ip 127.0.0.1 >/dev/null 2>&1
"$BIN/changelint-webhook" serve --listen "127.0.0.1:$PORT" \
    --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" \
    --metrics-listen "127.0.0.1:$METRICS_PORT" --request-timeout "$DEADLINE" \
    >"$WORK/webhook.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -ksf "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -ksf "https://127.0.0.1:$PORT/readyz" >/dev/null || { echo "webhook did not become ready" >&2; cat "$WORK/webhook.log" >&2; exit 1; }

rss() { awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; }
current_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
phase() {
    local name=$1 threads=$2 conns=$3 secs=$4
    local out
    out=$(OVERLOAD_BODY="$BODY" wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 30s \
        -s "$ROOT/scripts/overload/report.lua" "https://127.0.0.1:$PORT/validate" 2>&1 |
        grep '^RESULT' | sed 's/^RESULT //')
    printf '%-9s conns=%-5s %s peak_rss_kib=%s rss_kib=%s\n' "$name" "$conns" "$out" "$(rss)" "$(current_rss)"
}

echo "== body: $(basename "$BODY") ($(wc -c <"$BODY") bytes); deadline ${DEADLINE}s; $(nproc) cores" >&2
phase baseline 1 4 "$SECONDS_LOAD"
phase overload 2 "$CONNECTIONS" "$SECONDS_LOAD"
phase recovery 1 4 "$SECONDS_LOAD"
echo "== shed and judged (metrics):"
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E '^changelint_webhook_(rejected|requests)' | head -20 || true
kill -0 "$pid" 2>/dev/null && echo "== webhook still running after overload: yes" || { echo "== webhook DIED" >&2; exit 1; }
