-- wrk script for `make bench`: POSTs one pre-built gzip batch, as a polymur-proxy does, and counts answers.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_BATCH"), "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["X-Polymur-Key"] = "123"
  wrk.headers["User-Agent"] = "Go-http-client/1.1"
  wrk.headers["Accept-Encoding"] = "gzip"
  ok = 0
  refused = 0
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local o, r = 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    r = r + t:get("refused")
  end
  io.write(string.format("accepted_batches=%d\nrefused_batches=%d\nerrors=%d\n", o, r,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("p50_us=%d\np99_us=%d\n", latency:percentile(50), latency:percentile(99)))
end
