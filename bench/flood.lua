-- wrk script for bench/tenants.sh quota_flood: a tenant that ignores 429 and Retry-After, POSTing the gzip body in
-- $QUOTA_FLOOD_BODY with key $QUOTA_FLOOD_KEY as fast as it is answered; counts the answers by status.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("QUOTA_FLOOD_BODY"), "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["X-Polymur-Key"] = os.getenv("QUOTA_FLOOD_KEY")
  wrk.headers["User-Agent"] = "Go-http-client/1.1"
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
  end
  local out = "wrk answers:"
  for k, v in pairs(all) do out = out .. " " .. v .. " x " .. k end
  io.write(out .. string.format(", %d socket errors", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
