-- wrk script for bench/serve/run.sh: POST /get-online-features with ENTITIES
-- random entities (of N_ENT) x the 20 features of the bench view. Bodies are
-- built once per thread (512 of them, cycled) so the client spends its CPU on
-- the requests, not on Lua. DELAY_MS > 0 paces each connection (wrk's delay()),
-- to measure latency at a chosen rate instead of at saturation.
local n_ent = tonumber(os.getenv("N_ENT") or "1000")
local per = tonumber(os.getenv("ENTITIES") or "1")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

local feats = {}
for i = 1, 20 do feats[i] = string.format('"bench:f%02d"', i) end
local flist = table.concat(feats, ",")
local reqs, n = {}, 0

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for r = 1, 512 do
    local ents = {}
    for e = 1, per do ents[e] = string.format('"%012d"', math.random(0, n_ent - 1)) end
    local body = '{"features":[' .. flist .. '],"entities":{"symbol":[' .. table.concat(ents, ",") .. ']}}'
    reqs[r] = wrk.format("POST", "/get-online-features", {["Content-Type"] = "application/json"}, body)
  end
end

function request()
  n = n + 1
  return reqs[n % 512 + 1]
end

if delay_ms > 0 then
  function delay() return delay_ms end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f errors=%d non2xx=%d\n",
    summary.requests / secs, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
