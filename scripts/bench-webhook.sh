#!/usr/bin/env bash
# Webhook load benchmark: serves `changelint-webhook` and the "echo floor" (the `echo-floor`
# binary of the changelint-bench crate: axum + rustls, parses the AdmissionReview into a
# serde_json::Value and answers allowed) over TLS on loopback, drives both with wrk at
# concurrency 1, 16 and 64, with keep-alive and with a new connection per request, for an
# 8 KB DaemonSet UPDATE (the incident, denied; an image bump, allowed) and a 500 KB review,
# and prints requests/s, p50, p99, p99.9, errors, peak RSS (VmHWM) and idle RSS, and the
# webhook/floor ratios. See docs/performance.md.
#
# Each setting runs BENCH_ROUNDS rounds of one webhook run and one floor run, the first of
# the two alternating, and a ratio is the median of its per-round ratios: on a shared
# machine the load drifts from one run to the next, and a single pair of runs moved the
# 8 KB throughput ratio by +-0.2.
#
#   scripts/bench-webhook.sh
#   BENCH_ROUNDS=5 BENCH_CONCURRENCY="16" BENCH_MODES=keep-alive BENCH_BODIES="8k-deny" scripts/bench-webhook.sh
#
# Needs: wrk (apt-get install wrk; built with OpenSSL), curl, python3.
# The load generator runs on the same machine as the server: on a small machine the figures
# are bounded by both, which is why only ratios between the two servers are reported.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/changelint-bench}/webhook
DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONCURRENCY=${BENCH_CONCURRENCY:-"1 16 64"}
MODES=${BENCH_MODES:-"keep-alive new-connection"}
BODIES=${BENCH_BODIES:-"8k-deny 8k-allow 500k"}
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
# Waits for the servers to exit, so that a run started right after finds its ports free (the
# webhook drains for its shutdown delay after SIGTERM).
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# MIMALLOC_PURGE_DELAY as the image sets it (webhook/Dockerfile).
RUST_LOG=$WEBHOOK_LOG MIMALLOC_PURGE_DELAY=100 "$BIN/changelint-webhook" serve --listen "127.0.0.1:$WEBHOOK_PORT" \
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

# Both must answer the bodies; the webhook denies the incident and allows the rest. The
# answers' sizes are reported: wrk shares the cores, and reading a longer answer costs it CPU.
ANSWERS=$WORK/answers.tsv
: >"$ANSWERS"
for body in $BODIES; do
    for server in webhook floor; do
        if [ "$server" = webhook ]; then port=$WEBHOOK_PORT; else port=$FLOOR_PORT; fi
        read -r code size < <(curl -sk -o "$WORK/answer.json" -w '%{http_code} %{size_download}\n' -X POST -H 'Content-Type: application/json' \
            --data-binary "@$WORK/corpus/review-$body.json" "https://127.0.0.1:$port/validate")
        [ "$code" = 200 ] || { echo "bench-webhook: port $port answered $code to review-$body" >&2; exit 1; }
        printf '%s\t%s\t%s\n' "$body" "$server" "$size" >>"$ANSWERS"
    done
done

kib() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }
# CPU seconds (user + system) of the children line of bash's `times` ("0m1.234s 0m0.056s").
cpu_seconds() { awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, part, "m"); t += part[1] * 60 + part[2] } print t }'; }
IDLE_WEBHOOK=$(kib "$WEBHOOK_PID" VmRSS)
IDLE_FLOOR=$(kib "$FLOOR_PID" VmRSS)

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
for body in $BODIES; do
    for mode in $MODES; do
        for c in $CONCURRENCY; do
            threads=$((c < 2 ? 1 : 2))
            for round in $(seq "$ROUNDS"); do
                order="webhook floor"
                [ $((round % 2)) = 0 ] && order="floor webhook"
                for server in $order; do
                    if [ "$server" = webhook ]; then pid=$WEBHOOK_PID port=$WEBHOOK_PORT; else pid=$FLOOR_PID port=$FLOOR_PORT; fi
                    # Reset the peak RSS so VmHWM is this run's peak (Linux: clear_refs 5).
                    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
                    close=0
                    [ "$mode" = new-connection ] && close=1
                    cpu_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
                    # `times` in the subshell reports wrk's CPU: the load generator's share of
                    # the cores it has in common with the server.
                    output=$({ BENCH_BODY="$WORK/corpus/review-$body.json" BENCH_CLOSE=$close \
                        wrk -t "$threads" -c "$c" -d "${DURATION}s" --timeout 10s \
                        -s "$ROOT/scripts/bench/wrk-review.lua" "https://127.0.0.1:$port/validate"; times; })
                    line=$(sed -n 's/^RESULT //p' <<<"$output")
                    [ -n "$line" ] || { echo "bench-webhook: wrk printed no result ($server $body $mode c=$c)" >&2; exit 1; }
                    client_cpu=$(tail -n 1 <<<"$output" | cpu_seconds)
                    cpu_ticks=$(($(awk '{print $14 + $15}' "/proc/$pid/stat") - cpu_before))
                    peak=$(kib "$pid" VmHWM)
                    echo "{\"server\":\"$server\",\"body\":\"$body\",\"mode\":\"$mode\",\"c\":$c,\"round\":$round,\"peak_kib\":$peak,\"cpu_ticks\":$cpu_ticks,\"client_cpu_s\":$client_cpu,\"wrk\":$line}" >>"$RESULTS"
                    echo "   $server $body $mode c=$c round $round: $line peak=${peak}KiB cpu=${cpu_ticks} ticks wrk_cpu=${client_cpu}s" >&2
                done
            done
        done
    done
done

python3 - "$RESULTS" "$IDLE_WEBHOOK" "$IDLE_FLOOR" "$(nproc)" "$(getconf CLK_TCK)" "$ANSWERS" <<'EOF'
import json, statistics, sys
path, idle_webhook, idle_floor, cores, tck, answers = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]
runs = {}
for r in rows:
    w = r["wrk"]
    r["rps"] = w["requests"] / (w["duration_us"] / 1e6)
    # Server CPU time (user + system) per request: less sensitive to a busy machine than req/s.
    r["cpu_us"] = r["cpu_ticks"] * 1e6 / int(tck) / max(w["requests"], 1)
    # wrk's CPU per request, taken from the same two cores.
    r["client_us"] = r["client_cpu_s"] * 1e6 / max(w["requests"], 1)
    runs.setdefault((r["body"], r["mode"], r["c"]), {}).setdefault(r["round"], {})[r["server"]] = r
median = statistics.median
def summary(rounds, server):
    """The server's medians over the rounds; errors summed, peak RSS the highest."""
    mine = [pair[server] for pair in rounds.values() if server in pair]
    return {
        "rps": median(r["rps"] for r in mine),
        "p50": median(r["wrk"]["p50_us"] for r in mine),
        "p99": median(r["wrk"]["p99_us"] for r in mine),
        "p999": median(r["wrk"]["p999_us"] for r in mine),
        "errors": sum(r["wrk"]["errors"] for r in mine),
        "peak": max(r["peak_kib"] for r in mine) / 1024,
        "cpu": median(r["cpu_us"] for r in mine),
        "client": median(r["client_us"] for r in mine),
    }
def ratios(rounds):
    """Per-round webhook/floor ratios of req/s, p99, and the server's and wrk's CPU per request,
    and their medians."""
    both = [pair for pair in rounds.values() if "webhook" in pair and "floor" in pair]
    per = {
        "rps": [p["webhook"]["rps"] / p["floor"]["rps"] for p in both],
        "p99": [p["webhook"]["wrk"]["p99_us"] / max(p["floor"]["wrk"]["p99_us"], 1) for p in both],
        "cpu": [p["webhook"]["cpu_us"] / max(p["floor"]["cpu_us"], 1e-9) for p in both],
        "client": [p["webhook"]["client_us"] / max(p["floor"]["client_us"], 1e-9) for p in both],
    }
    return {k: median(v) for k, v in per.items()}, per
ms = lambda us: f"{us / 1000:7.2f}"
print()
print(f"webhook vs echo floor, TLS on loopback, {cores} cores shared with wrk; medians over rounds; latencies in ms")
print(f"{'body':<8} {'mode':<15} {'c':>3} | {'server':<7} {'req/s':>9} {'p50':>7} {'p99':>7} {'p99.9':>7} {'errors':>6} {'peak MiB':>8} {'cpu us/req':>10} {'wrk us/req':>10} | {'rps ratio':>9} {'p99 ratio':>9} {'cpu ratio':>9} {'wrk ratio':>9}")
for k in sorted(runs):
    rounds = runs[k]
    for server in ("webhook", "floor"):
        s = summary(rounds, server)
        ratio = ""
        if server == "webhook":
            m, _ = ratios(rounds)
            ratio = f"{m['rps']:9.2f} {m['p99']:9.2f} {m['cpu']:9.2f} {m['client']:9.2f}"
        print(f"{k[0]:<8} {k[1]:<15} {k[2]:>3} | {server:<7} {s['rps']:9.0f} {ms(s['p50'])} {ms(s['p99'])} {ms(s['p999'])} {s['errors']:>6} {s['peak']:8.1f} {s['cpu']:10.0f} {s['client']:10.0f} | {ratio}")
print()
sizes = [line.split("\t") for line in open(answers).read().splitlines()]
print("answer bytes: " + ", ".join(f"{body} {server} {size}" for body, server, size in sizes))
print(f"idle RSS: webhook {int(idle_webhook) / 1024:.1f} MiB (target < 20), floor {int(idle_floor) / 1024:.1f} MiB")
peak64 = [r["peak_kib"] / 1024 for r in rows if r["server"] == "webhook" and r["c"] == 64]
if peak64:
    print(f"webhook peak RSS under c=64: {max(peak64):.1f} MiB (target < 64)")
for k in sorted(runs):
    if k[1] != "keep-alive" or k[2] != 16:
        continue
    m, per = ratios(runs[k])
    spread = lambda v: ", ".join(f"{x:.2f}" for x in v)
    print(f"target c=16 keep-alive {k[0]}: throughput ratio {m['rps']:.2f} (>= 1.0: {'met' if m['rps'] >= 1 else 'NOT met'}; rounds {spread(per['rps'])}), "
          f"p99 ratio {m['p99']:.2f} (<= 1.0: {'met' if m['p99'] <= 1 else 'NOT met'}; rounds {spread(per['p99'])})")
EOF
