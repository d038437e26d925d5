"""The shaper's Lua scripts: each decides and writes in one atomic step on the Redis server.

Mirrored by the pure functions in ``shaping.policy`` (``admit``, ``pace``); tests replay
what a script decided through its mirror.
"""

_PRELUDE_LUA = r"""
-- KEYS[1] grant log: sorted set, score = grant time in µs of Redis TIME
-- KEYS[2] counter that keeps grant-log members unique
-- KEYS[3] rate-state hash written by report_throttle: rate, since_us
-- ARGV[1] cap (messages per second)      ARGV[2] recovery (msg/s regained per s)
-- ARGV[3] n wanted   ARGV[4] priority (0 urgent)   ARGV[5] urgent share
-- ARGV[6] span of the sliding window in µs: one second plus a guard for the
--         network jitter between a grant and its arrival at the operator
local WINDOW = 1000000
local SPAN = tonumber(ARGV[6])

-- The server's clock, not the caller's: machines may disagree by seconds.
-- Writing after TIME relies on effects replication, the default since Redis 5.
local t = redis.call('TIME')
local now = tonumber(t[1]) * WINDOW + tonumber(t[2])

local cap = tonumber(ARGV[1])
local recovery = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local priority = tonumber(ARGV[4])
local share = tonumber(ARGV[5])

-- Backed-off rate with linear recovery; same operations, same order as
-- BackoffPolicy.effective_rate, so Python and Lua agree to the bit.
local rate = cap
local state = redis.call('HMGET', KEYS[3], 'rate', 'since_us')
if state[1] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  rate = math.min(cap, tonumber(state[1]) + recovery * (elapsed / WINDOW))
end
local limit = math.floor(rate)

-- Digests stop short of the reserve, so urgent alerts always find room.
local allowed = limit
if priority ~= 0 then
  allowed = limit - math.ceil(limit * share)
end

"""

# Returns {granted, retry_after_us, now_us, limit}: every grant is for now.
ACQUIRE_LUA = _PRELUDE_LUA + r"""
-- Keep only grants in (now - span, now]; %d because Lua 5.1 would print a
-- 16-digit number in %.14g and lose the microseconds.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - SPAN))
local used = redis.call('ZCARD', KEYS[1])
local granted = math.max(0, math.min(n, allowed - used))

if granted > 0 then
  local last = redis.call('INCRBY', KEYS[2], granted)
  local stamp = string.format('%d', now)
  local entries = {}
  for i = 1, granted do
    entries[#entries + 1] = stamp
    entries[#entries + 1] = stamp .. ':' .. string.format('%d', last - granted + i)
  end
  redis.call('ZADD', KEYS[1], unpack(entries))
  -- Idle operators clean up after themselves; 2 s outlives every live grant
  -- (the guard is kept under a second).
  redis.call('PEXPIRE', KEYS[1], 2000)
  redis.call('PEXPIRE', KEYS[2], 2000)
end

local retry = 0
if granted < n then
  if allowed <= 0 then
    retry = SPAN
  else
    -- A slot frees once the k-th oldest grant ages out of the window.
    local k = used + granted - allowed + 1
    local oldest = redis.call('ZRANGE', KEYS[1], k - 1, k - 1, 'WITHSCORES')
    retry = tonumber(oldest[2]) + SPAN - now
  end
end
return {granted, retry, now, limit}
"""

# Paced grants: each slot is a moment, spaced span/limit apart, at most a horizon
# ahead of now; the grant log holds the moments, so the sliding-window bound holds
# for the moments the messages leave, not for when they were granted.
# KEYS[4] the next free moment (µs)   ARGV[7] horizon in µs
# Returns {granted, retry_after_us, now_us, limit, {delay_us...}}.
PACE_LUA = _PRELUDE_LUA + r"""
-- Senders book with spans of their own (each follows its measured arrival lateness),
-- so prune only what no span (< 2 s) can still count; ZCOUNT below bounds each window.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - 2 * WINDOW))
local HORIZON = tonumber(ARGV[7])
if allowed <= 0 then
  return {0, SPAN, now, limit, {}}
end
local interval = math.floor(SPAN / limit)
local at = math.max(now + tonumber(ARGV[8]), tonumber(redis.call('GET', KEYS[4]) or '0'))
local delays = {}
local retry = 0
while #delays < n do
  if at - now > HORIZON then
    retry = at - HORIZON - now
    break
  end
  local floor = '(' .. string.format('%d', at - SPAN)
  local used = redis.call('ZCOUNT', KEYS[1], floor, '+inf')
  if used >= allowed then
    -- The window ending at `at` is full: the earliest moment it has room is
    -- when its (used - allowed + 1)-th oldest moment ages out.
    local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], floor, '+inf', 'WITHSCORES',
                              'LIMIT', used - allowed, 1)
    at = tonumber(oldest[2]) + SPAN
  else
    local seq = redis.call('INCR', KEYS[2])
    local stamp = string.format('%d', at)
    redis.call('ZADD', KEYS[1], stamp, stamp .. ':' .. string.format('%d', seq))
    delays[#delays + 1] = at - now
    at = at + interval
  end
end
if #delays > 0 then
  redis.call('SET', KEYS[4], string.format('%d', at))
  -- Moments reach up to a horizon (< 1 s) ahead, and live up to two seconds after that.
  for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], 3000) end
  redis.call('PEXPIRE', KEYS[4], 3000)
end
return {#delays, retry, now, limit, delays}
"""

# Moments moved to when their messages really reached the operator (a stall held them and
# released them together): each booked moment leaves the log and its arrival takes its
# place, so the paced script counts the burst where it landed.
# KEYS[1] grant log   KEYS[2] its sequence   ARGV booked_us, arrived_us, booked_us, ...
# Returns how many booked moments were still in the log.
REBOOK_LUA = r"""
local found = 0
for i = 1, #ARGV, 2 do
  local booked = ARGV[i]
  local member = redis.call('ZRANGEBYSCORE', KEYS[1], booked, booked, 'LIMIT', 0, 1)
  if member[1] then
    redis.call('ZREM', KEYS[1], member[1])
    found = found + 1
  end
  local seq = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i + 1] .. ':' .. string.format('%d', seq))
end
redis.call('PEXPIRE', KEYS[1], 3000)
redis.call('PEXPIRE', KEYS[2], 3000)
return found
"""
