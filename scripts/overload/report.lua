-- wrk script for scripts/overload-webhook.sh: POSTs one AdmissionReview and prints one line:
-- RESULT requests rps p50_ms p99_ms p999_ms max_ms status_503 other_non2xx connect read write timeout
-- 503s (shed: overloaded or past the deadline) are counted apart from any other non-2xx answer.
local body_file = os.getenv("OVERLOAD_BODY")
local f = assert(io.open(body_file, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  status_503 = 0
  other_non2xx = 0
end

function response(status, headers, body)
  if status == 503 then
    status_503 = status_503 + 1
  elseif status < 200 or status > 299 then
    other_non2xx = other_non2xx + 1
  end
end

function done(summary, latency, requests)
  local shed, other = 0, 0
  for _, thread in ipairs(threads) do
    shed = shed + thread:get("status_503")
    other = other + thread:get("other_non2xx")
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %d %.1f %.1f %.1f %.1f %.1f %d %d %d %d %d %d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    shed, other, e.connect, e.read, e.write, e.timeout))
end
