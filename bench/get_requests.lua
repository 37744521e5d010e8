-- wrk script: replays GET requests from BENCH_REQUESTS_FILE ("path<TAB>api key" per line),
-- round robin per thread, and prints one JSON line of results at the end.
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local stride = tonumber(os.getenv("BENCH_THREADS"))
  requests_list = {}
  local line_number = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS_FILE")) do
    if line_number % stride == id then
      local path, key = line:match("^([^\t]+)\t(.*)$")
      table.insert(requests_list, wrk.format("GET", path, {["Authorization"] = "Bearer " .. key}))
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
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors_status": %d, "errors_other": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
