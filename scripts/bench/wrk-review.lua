-- wrk script of scripts/bench-webhook.sh: POSTs one AdmissionReview body (BENCH_BODY), with
-- `Connection: close` when BENCH_CLOSE=1 (a new TLS connection per request), and prints one
-- JSON line of results at the end. Latencies are in microseconds.
local body_file = assert(os.getenv("BENCH_BODY"), "BENCH_BODY names the review body")
local file = assert(io.open(body_file, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"errors":%d,"connect_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    e.connect, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
