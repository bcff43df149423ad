-- Request k of this thread is due at start + k * interval (monotonic clock). A
-- connection that frees up early waits for the next slot; one that frees up after
-- its slot has passed sends at once and counts as late. The schedule starts a
-- settling time after the first connection is open: wrk opens every connection
-- at once, and the server accepting hundreds of them takes it a moment in which
-- nothing else is served, a start-up no steady rate has. api_runs.py fills in the
-- interval and the settling time (the double-underscored names).

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } canvass_timespec;
int clock_gettime(int clock_id, canvass_timespec *tp);
]]
local clock_now = ffi.new("canvass_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock_now)  -- CLOCK_MONOTONIC
  return tonumber(clock_now.tv_sec) * 1000 + tonumber(clock_now.tv_nsec) / 1e6
end
local interval_ms = __INTERVAL_MS__
local settle_ms = __SETTLE_MS__
local start_ms = nil
local slot = 0
function delay()
  local now = now_ms()
  if start_ms == nil then start_ms = now + settle_ms end
  local due = start_ms + slot * interval_ms
  slot = slot + 1
  paced = paced + 1
  if now > due + 1 then
    late = late + 1
    return 0
  end
  return math.floor(due - now)
end
