#!/usr/bin/env bash
# Webhook load benchmark: serves `changelint-webhook` and the "echo floor" (the `echo-floor`
# binary of the changelint-bench crate: axum + rustls, parses the AdmissionReview into a
# serde_json::Value and answers allowed) over TLS on loopback, drives both with wrk at
# concurrency 1, 16 and 64, with keep-alive and with a new connection per request, for an
# 8 KB DaemonSet UPDATE and a 500 KB review, and prints requests/s, p50, p99, p99.9, errors,
# peak RSS (VmHWM) and idle RSS, and the webhook/floor ratios. See docs/performance.md.
#
#   scripts/bench-webhook.sh
#   BENCH_DURATION=5 BENCH_CONCURRENCY="16" BENCH_BODIES="8k-deny" scripts/bench-webhook.sh
#
# Needs: wrk (apt-get install wrk; built with OpenSSL), curl, python3.
# The load generator runs on the same machine as the server: on a small machine the figures
# are bounded by both, which is why only ratios between the two servers are reported.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/changelint-bench}/webhook
DURATION=${BENCH_DURATION:-10}
CONCURRENCY=${BENCH_CONCURRENCY:-"1 16 64"}
MODES=${BENCH_MODES:-"keep-alive new-connection"}
BODIES=${BENCH_BODIES:-"8k-deny 500k"}
WEBHOOK_PORT=${BENCH_WEBHOOK_PORT:-18443}
FLOOR_PORT=${BENCH_FLOOR_PORT:-19443}
# The webhook logs one line per review at its default level, as in production.
WEBHOOK_LOG=${BENCH_WEBHOOK_LOG:-info}

need() { command -v "$1" >/dev/null || { echo "bench-webhook: $1 is required ($2)" >&2; exit 2; }; }
need wrk "apt-get install wrk"
need curl "apt-get install curl"
need python3 "apt-get install python3"

echo "== building (release)" >&2
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p changelint-webhook -p changelint-bench
BIN=$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release

mkdir -p "$WORK"
"$BIN/gen-corpus" --objects 1 --reviews "$WORK/corpus" 2>/dev/null
"$BIN/changelint-webhook" certs --out "$WORK/certs" --dns localhost --ip 127.0.0.1 >/dev/null 2>&1

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

RUST_LOG=$WEBHOOK_LOG "$BIN/changelint-webhook" serve --listen "127.0.0.1:$WEBHOOK_PORT" \
    --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" 2>"$WORK/webhook.log" &
WEBHOOK_PID=$!
PIDS+=("$WEBHOOK_PID")
"$BIN/echo-floor" --listen "127.0.0.1:$FLOOR_PORT" \
    --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" 2>"$WORK/floor.log" &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")

wait_ready() {
    for _ in $(seq 100); do
        if curl -sk -o /dev/null -X POST -H 'Content-Type: application/json' \
            --data-binary "@$WORK/corpus/review-8k-allow.json" "https://127.0.0.1:$1/validate"; then
            return 0
        fi
        sleep 0.1
    done
    echo "bench-webhook: nothing answers on port $1" >&2
    exit 1
}
wait_ready "$WEBHOOK_PORT"
wait_ready "$FLOOR_PORT"

# Both must answer the bodies; the webhook denies the incident and allows the rest.
for body in $BODIES; do
    for port in "$WEBHOOK_PORT" "$FLOOR_PORT"; do
        code=$(curl -sk -o "$WORK/answer.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            --data-binary "@$WORK/corpus/review-$body.json" "https://127.0.0.1:$port/validate")
        [ "$code" = 200 ] || { echo "bench-webhook: port $port answered $code to review-$body" >&2; exit 1; }
    done
done

kib() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }
IDLE_WEBHOOK=$(kib "$WEBHOOK_PID" VmRSS)
IDLE_FLOOR=$(kib "$FLOOR_PID" VmRSS)

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
for body in $BODIES; do
    for mode in $MODES; do
        for c in $CONCURRENCY; do
            threads=$((c < 2 ? 1 : 2))
            for server in webhook floor; do
                if [ "$server" = webhook ]; then pid=$WEBHOOK_PID port=$WEBHOOK_PORT; else pid=$FLOOR_PID port=$FLOOR_PORT; fi
                # Reset the peak RSS so VmHWM is this run's peak (Linux: clear_refs 5).
                echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
                close=0
                [ "$mode" = new-connection ] && close=1
                cpu_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
                line=$(BENCH_BODY="$WORK/corpus/review-$body.json" BENCH_CLOSE=$close \
                    wrk -t "$threads" -c "$c" -d "${DURATION}s" --timeout 10s \
                    -s "$ROOT/scripts/bench/wrk-review.lua" "https://127.0.0.1:$port/validate" |
                    sed -n 's/^RESULT //p')
                cpu_ticks=$(($(awk '{print $14 + $15}' "/proc/$pid/stat") - cpu_before))
                peak=$(kib "$pid" VmHWM)
                echo "{\"server\":\"$server\",\"body\":\"$body\",\"mode\":\"$mode\",\"c\":$c,\"peak_kib\":$peak,\"cpu_ticks\":$cpu_ticks,\"wrk\":$line}" >>"$RESULTS"
                echo "   $server $body $mode c=$c: $line peak=${peak}KiB cpu=${cpu_ticks} ticks" >&2
            done
        done
    done
done

python3 - "$RESULTS" "$IDLE_WEBHOOK" "$IDLE_FLOOR" "$(nproc)" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
path, idle_webhook, idle_floor, cores, tck = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]
key = lambda r: (r["body"], r["mode"], r["c"])
by = {}
for r in rows:
    w = r["wrk"]
    r["rps"] = w["requests"] / (w["duration_us"] / 1e6)
    # Server CPU time (user + system) per request: less sensitive to a busy machine than req/s.
    r["cpu_us"] = r["cpu_ticks"] * 1e6 / int(tck) / max(w["requests"], 1)
    by.setdefault(key(r), {})[r["server"]] = r
ms = lambda us: f"{us / 1000:7.2f}"
print()
print(f"webhook vs echo floor, TLS on loopback, {cores} cores shared with wrk; latencies in ms")
print(f"{'body':<8} {'mode':<15} {'c':>3} | {'server':<7} {'req/s':>9} {'p50':>7} {'p99':>7} {'p99.9':>7} {'errors':>6} {'peak MiB':>8} {'cpu us/req':>10} | {'rps ratio':>9} {'p99 ratio':>9} {'cpu ratio':>9}")
for k in sorted(by, key=lambda k: (k[0], k[1], k[2])):
    pair = by[k]
    for server in ("webhook", "floor"):
        r = pair.get(server)
        if not r:
            continue
        w = r["wrk"]
        ratio = ""
        if server == "webhook" and "floor" in pair:
            f = pair["floor"]
            ratio = f"{r['rps'] / f['rps']:9.2f} {w['p99_us'] / max(f['wrk']['p99_us'], 1):9.2f} {r['cpu_us'] / max(f['cpu_us'], 1e-9):9.2f}"
        print(f"{k[0]:<8} {k[1]:<15} {k[2]:>3} | {server:<7} {r['rps']:9.0f} {ms(w['p50_us'])} {ms(w['p99_us'])} {ms(w['p999_us'])} {w['errors']:>6} {r['peak_kib'] / 1024:8.1f} {r['cpu_us']:10.0f} | {ratio}")
print()
print(f"idle RSS: webhook {int(idle_webhook) / 1024:.1f} MiB (target < 20), floor {int(idle_floor) / 1024:.1f} MiB")
peak64 = [r["peak_kib"] / 1024 for r in rows if r["server"] == "webhook" and r["c"] == 64]
if peak64:
    print(f"webhook peak RSS under c=64: {max(peak64):.1f} MiB (target < 64)")
target = [by[k] for k in by if k[1] == "keep-alive" and k[2] == 16 and "webhook" in by[k] and "floor" in by[k]]
for pair in target:
    w, f = pair["webhook"], pair["floor"]
    rps, p99 = w["rps"] / f["rps"], w["wrk"]["p99_us"] / max(f["wrk"]["p99_us"], 1)
    print(f"target c=16 keep-alive {w['body']}: throughput ratio {rps:.2f} (>= 1.0: {'met' if rps >= 1 else 'NOT met'}), "
          f"p99 ratio {p99:.2f} (<= 1.0: {'met' if p99 <= 1 else 'NOT met'})")
EOF
