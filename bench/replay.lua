-- wrk script: replays the requests in BENCH_REQUESTS_FILE, one per line as
-- "METHOD<TAB>path<TAB>headers<TAB>body", headers as "Name: value" joined by "\31" (unit
-- separator). Each thread takes every BENCH_THREADS-th line and cycles through its share; at the
-- end one JSON line of results is printed (bench/wrk.py reads it).
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

local function parse_headers(text)
  local headers = {}
  for pair in string.gmatch(text, "[^\31]+") do
    local name, value = pair:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  return headers
end

function init(args)
  local stride = tonumber(os.getenv("BENCH_THREADS"))
  requests_list = {}
  local line_number = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS_FILE")) do
    if line_number % stride == id then
      local method, path, headers, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]*)\t(.*)$")
      if body == "" then body = nil end
      table.insert(requests_list, wrk.format(method, path, parse_headers(headers), body))
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
