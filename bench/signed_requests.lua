-- wrk script: replays pre-signed POST /v1/ingest requests from BENCH_REQUESTS_FILE
-- (one "timestamp<TAB>signature<TAB>body" per line), each thread its own share, never repeating
-- a request, and prints one JSON line of results at the end.
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local tenant = os.getenv("BENCH_TENANT")
  local stride = tonumber(os.getenv("BENCH_THREADS"))
  requests_list = {}
  local line_number = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS_FILE")) do
    if line_number % stride == id then
      local ts, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      table.insert(requests_list, wrk.format("POST", "/v1/ingest", {
        ["Content-Type"] = "application/json",
        ["X-Tenant-Id"] = tenant,
        ["X-Timestamp"] = ts,
        ["X-Signature"] = sig,
      }, body))
    end
    line_number = line_number + 1
  end
  position = 0
end

function request()
  position = position + 1
  if position > #requests_list then position = 1 end
  return requests_list[position]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, ' ..
    '"errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
