-- wrk script of scenario 3: GET /users/{id} over ids 1..10000 on every connection, for a fixed
-- number of responses (the first script argument), then one JSON line on stdout.
--
-- wrk itself only knows durations: its main thread sleeps for -d seconds. So the thread times
-- its own run with clock_gettime (LuaJIT ffi), stops its event loop after the last response,
-- and sends the process SIGINT, which wrk handles by ending that sleep and reporting at once.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
  int kill(int pid, int sig);
  int getpid(void);
]]

local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local limit = 10000
local counter = 0
local responses = 0
local threads = {}
started = 0
elapsed = 0
counted = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if args[1] then limit = tonumber(args[1]) end
end

function request()
  if counter == 0 then started = now() end
  counter = counter + 1
  return wrk.format("GET", "/users/" .. ((counter % 10000) + 1))
end

function response(status, headers, body)
  responses = responses + 1
  if responses == limit then
    elapsed = now() - started
    counted = responses
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), 2) -- SIGINT: wake wrk's main thread now
  end
end

function done(summary, latency, requests)
  local n, secs = 0, 0
  for _, thread in ipairs(threads) do
    n = n + thread:get("counted")
    secs = math.max(secs, thread:get("elapsed"))
  end
  io.write(string.format(
    '{"responses": %d, "seconds": %.6f, "requests": %d, "duration_us": %d, "errors": %d, ' ..
    '"status_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f}\n',
    n, secs, summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
