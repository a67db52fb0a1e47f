-- wrk script for bench/serve/run.sh: POST /get-online-features with ENTITIES
-- random entities (of N_ENT) x the 20 features of the bench view. Bodies are
-- built once per thread (512 of them, cycled) so the client spends its CPU on
-- the requests, not on Lua.
-- Pacing (wrk itself has no fixed rate: each connection sends its next
-- request when the answer to the last one is in):
--   RATE=R      the thread sends R requests/s in all, whatever the latency:
--               request k is due at start + k/R, and a connection that is
--               free waits (wrk's delay(), in whole ms) until the next
--               request is due. With enough connections (so that one is
--               always free) the rate is R; wrk's timers tick by the
--               millisecond, so about R/1000 requests leave together each
--               ms, a harder load than evenly spaced arrivals. Latency is
--               wrk's, from the request's write to its answer.
--   DELAY_MS=D  each connection waits D ms after each answer (rate then
--               depends on the latency).
local n_ent = tonumber(os.getenv("N_ENT") or "1000")
local per = tonumber(os.getenv("ENTITIES") or "1")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local rate = tonumber(os.getenv("RATE") or "0")

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

if rate > 0 then
  -- wrk's Lua (LuaJIT) has no wall clock: clock_gettime(CLOCK_MONOTONIC) through ffi.
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } fs_bench_timespec;
    int clock_gettime(int clock, fs_bench_timespec *ts);
  ]]
  local ts = ffi.new("fs_bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local step, due = 1000 / rate, nil
  function delay()
    local t = now_ms()
    due = due and due + step or t
    if due < t - 100 then due = t - 100 end -- behind by more than 100 ms: do not catch up in a burst
    local d = due - t
    return d > 0 and math.floor(d) or 0
  end
elseif delay_ms > 0 then
  function delay() return delay_ms end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f errors=%d non2xx=%d\n",
    summary.requests / secs, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
