"""The server-side steps of the Redis limiter, each one atomic Lua script.

Time is the Redis server's (``TIME``) unless the caller passes one (a simulated clock), so
hosts with skewed clocks agree. Numbers go to Redis formatted with 17 significant digits: the
default conversion keeps 14, which would round a Unix time to 100 microseconds.

A window is a sorted set of request ids scored by the moment each stops counting: its
deadline plus the window while it is in flight, its answer plus the window once answered.
So a score above ``now + window`` marks a request still in flight. A bucket's queue is a
sorted set of waiting tickets in arrival order; the ``waiting`` set scores each ticket by the
moment it is considered abandoned unless its waiter renews it.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "LEAVE", "PAUSE", "RELEASE", "STATUS"]

_COMMON = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function clock()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function num(x) return string.format('%.17g', x) end
local function ttl_ms(seconds) return string.format('%d', math.ceil(seconds * 1000) + 1000) end
"""

ACQUIRE = (
    _COMMON
    + """
-- KEYS: waiting set, then per bucket: queue, pause, its windows' sets.
-- ARGV: now, ticket, ticket ttl, hold, reach, bucket count, then per bucket: window count,
--       then per window: limit, seconds.
-- Reply: {status, bucket (1-based), cause (0: pause, i: window i, -1: none), most, least}
--   ok: slots taken (most = now); ready: the first `reach` buckets passed, more are needed;
--   queued: an earlier live ticket goes first; wait: no room (most/least: seconds at most /
--   at least until the blocking window or pause frees; for a queued ticket, until enough
--   slots free for the tickets ahead of it and itself).
local now = clock()
local ticket = ARGV[2]
local ticket_ttl = tonumber(ARGV[3])
local hold = tonumber(ARGV[4])
local reach = tonumber(ARGV[5])
local nb = tonumber(ARGV[6])
local waiting = KEYS[1]

local buckets = {}
local k, a = 2, 7
for b = 1, nb do
  local nw = tonumber(ARGV[a])
  a = a + 1
  local bucket = {queue = KEYS[k], pause = KEYS[k + 1], windows = {}}
  k = k + 2
  for w = 1, nw do
    bucket.windows[w] = {key = KEYS[k], limit = tonumber(ARGV[a]), seconds = tonumber(ARGV[a + 1])}
    k = k + 1
    a = a + 2
  end
  buckets[b] = bucket
end

-- How long until `k` more requests fit in the bucket: at most and at least (a request in
-- flight may be answered any moment, so its slot may free a window from now), and the cause.
local function room(bucket, k)
  local most, least, cause = 0, 0, -1
  local paused = tonumber(redis.call('GET', bucket.pause))
  if paused and paused > now then
    most, least, cause = paused - now, paused - now, 0
  end
  for i, w in ipairs(bucket.windows) do
    redis.call('ZREMRANGEBYSCORE', w.key, '-inf', num(now))
    local count = redis.call('ZCARD', w.key)
    -- more than the window holds: its predecessors' own slots free later still, so when
    -- every counted request has left is a bound too (a weaker one)
    local over = math.min(count - w.limit + k, count)
    if over > 0 then
      local kth = tonumber(redis.call('ZRANGE', w.key, over - 1, over - 1, 'WITHSCORES')[2])
      local last = tonumber(redis.call('ZRANGE', w.key, -1, -1, 'WITHSCORES')[2])
      local w_most = kth - now
      local w_least = w_most
      if last > now + w.seconds and w.seconds < w_least then w_least = w.seconds end
      if w_least > least or (w_least == least and w_most > most) then
        most, least, cause = w_most, w_least, i
      end
    end
  end
  return most, least, cause
end

redis.call('ZADD', waiting, num(now + ticket_ttl), ticket)
redis.call('PEXPIRE', waiting, ttl_ms(ticket_ttl))

for b = 1, reach do
  local bucket = buckets[b]
  local q = bucket.queue
  if not redis.call('ZSCORE', q, ticket) then
    local last = redis.call('ZRANGE', q, -1, -1, 'WITHSCORES')
    local seq = 1
    if last[2] then seq = tonumber(last[2]) + 1 end
    redis.call('ZADD', q, seq, ticket)
  end
  redis.call('PEXPIRE', q, ttl_ms(ticket_ttl))
  while true do
    local head = redis.call('ZRANGE', q, 0, 0)[1]
    if head == ticket then break end
    local alive = tonumber(redis.call('ZSCORE', waiting, head))
    if alive and alive > now then
      -- its turn cannot come before as many slots free as there are tickets ahead, plus one
      local most, least, cause = room(bucket, redis.call('ZRANK', q, ticket) + 1)
      return {'queued', b, cause, num(most), num(least)}
    end
    -- a waiter that stopped renewing its ticket (it died, or lost Redis): drop it
    redis.call('ZREM', q, head)
    redis.call('ZREM', waiting, head)
  end
  local most, least, cause = room(bucket, 1)
  if most > 0 then
    return {'wait', b, cause, num(most), num(least)}
  end
end
if reach < nb then
  return {'ready', reach, -1, '0', '0'}
end
for b = 1, nb do
  for _, w in ipairs(buckets[b].windows) do
    redis.call('ZADD', w.key, num(now + hold + w.seconds), ticket)
    local ttl = ttl_ms(hold + w.seconds)
    if redis.call('PTTL', w.key) < tonumber(ttl) then redis.call('PEXPIRE', w.key, ttl) end
  end
  redis.call('ZREM', buckets[b].queue, ticket)
end
redis.call('ZREM', waiting, ticket)
return {'ok', 0, -1, num(now), '0'}
"""
)

RELEASE = (
    _COMMON
    + """
-- KEYS: the windows of a lease. ARGV: now, lease id, then each window's seconds.
-- The answer came now: the slot counts for one window from now (or from its deadline,
-- if that passed first).
local now = clock()
local lease = ARGV[2]
for i, key in ipairs(KEYS) do
  local until_now = now + tonumber(ARGV[i + 2])
  local score = tonumber(redis.call('ZSCORE', key, lease))
  if score and score > until_now then
    redis.call('ZADD', key, 'XX', num(until_now), lease)
  end
end
return num(now)
"""
)

PAUSE = (
    _COMMON
    + """
-- KEYS: pause keys. ARGV: now, seconds. Extends each pause to now + seconds at least.
local now = clock()
local seconds = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  local paused = tonumber(redis.call('GET', key))
  if not paused or paused < now + seconds then
    redis.call('SET', key, num(now + seconds), 'PX', ttl_ms(seconds))
  end
end
return num(now)
"""
)

LEAVE = """
-- KEYS: waiting set, then queues, then windows. ARGV: ticket. A waiter gives up its place,
-- and any slot an ACQUIRE whose reply never reached it took under this ticket.
for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
"""

STATUS = (
    _COMMON
    + """
-- KEYS: per bucket: pause, then its windows. ARGV: now, bucket count, then per bucket:
-- window count. Reply: per bucket: seconds paused, then each window's count. Reads only.
local now = clock()
local out = {}
local k, a = 1, 3
for b = 1, tonumber(ARGV[2]) do
  local paused = tonumber(redis.call('GET', KEYS[k]))
  out[#out + 1] = num(paused and math.max(0, paused - now) or 0)
  k = k + 1
  for w = 1, tonumber(ARGV[a]) do
    out[#out + 1] = redis.call('ZCOUNT', KEYS[k], '(' .. num(now), '+inf')
    k = k + 1
  end
  a = a + 1
end
return out
"""
)
