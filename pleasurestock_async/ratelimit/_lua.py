"""The server-side steps of the Redis limiter, each one atomic Lua script.

Time is the Redis server's (``TIME``) unless the caller passes one (a simulated clock), so
hosts with skewed clocks agree. Numbers go to Redis formatted with 17 significant digits: the
default conversion keeps 14, which would round a Unix time to 100 microseconds.

A window is a sorted set of request ids scored by the moment each stops counting: its
deadline plus the window while it is in flight, its answer plus the window once answered.
So a score above ``now + window`` marks a request still in flight. A bucket's queue is a
sorted set of waiting tickets in arrival order; the ``waiting`` set scores each ticket by the
moment it is considered abandoned unless its waiter renews it.

A ticket is ``<worker>.<random>``: the ``alive`` set scores each worker by the moment it is
considered dead unless it beats again (on Redis's own clock, ``TIME``, always: liveness is a
matter of real time). A dead worker's tickets leave the queues, and its requests in flight
count as answered when a heartbeat notices. The ``epoch`` key names the state Redis holds: a
worker that finds it gone or changed (Redis flushed, or restarted empty) puts back what it
sent, while every bucket waits (``restoring``) for the other workers to do the same.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "HEARTBEAT", "LEAVE", "PAUSE", "RELEASE", "RESTORE", "STATUS"]

_COMMON = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function clock()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function num(x) return string.format('%.17g', x) end
local function ttl_ms(seconds) return string.format('%d', math.ceil(seconds * 1000) + 1000) end
local function real_clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
-- whether the worker that owns a ticket still beats (a ticket without an owner: yes)
local function owner_alive(alive_key, member, real_now)
  local owner = string.match(member, '^(%x+)%.')
  if not owner then return true end
  local until_ = tonumber(redis.call('ZSCORE', alive_key, owner))
  return until_ ~= nil and until_ > real_now
end
local EPOCH_TTL = '60000'  -- renewed by every beat: it goes only once no worker lives
"""

ACQUIRE = (
    _COMMON
    + """
-- KEYS: waiting set, alive set, epoch, restoring, then per bucket: queue, pause, its windows.
-- ARGV: now, ticket, ticket ttl, hold, reach, worker, alive for, the epoch the worker knows,
--       an epoch to create, restore for, bucket count, then per bucket: window count, then
--       per window: limit, seconds.
-- Reply: {status, bucket (1-based), cause (0: pause, i: window i, -1: none, -2: restoring),
--         most, least, epoch, then for ok: each window's count with this request}
--   ok: slots taken (most = now); ready: the first `reach` buckets passed, more are needed;
--   queued: an earlier live ticket goes first; wait: no room (most/least: seconds at most /
--   at least until the blocking window or pause frees; for a queued ticket, until enough
--   slots free for the tickets ahead of it and itself); lost: Redis no longer holds the
--   state the worker knew (epoch: the current one): put back what it sent, then ask again.
local now = clock()
local real = real_clock()
local ticket = ARGV[2]
local ticket_ttl = tonumber(ARGV[3])
local hold = tonumber(ARGV[4])
local reach = tonumber(ARGV[5])
local alive_for = tonumber(ARGV[7])
local nb = tonumber(ARGV[11])
local waiting, alive, epoch_key, restoring_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

redis.call('ZADD', alive, num(real + alive_for), ARGV[6])
redis.call('PEXPIRE', alive, ttl_ms(alive_for))
local epoch = redis.call('GET', epoch_key)
if not epoch then
  epoch = ARGV[9]
  redis.call('SET', epoch_key, epoch, 'PX', EPOCH_TTL)
  if ARGV[8] ~= '' then  -- the state this worker knew is gone: everyone puts theirs back
    local restore_for = tonumber(ARGV[10])
    redis.call('SET', restoring_key, num(now + restore_for), 'PX', ttl_ms(restore_for))
  end
end
if epoch ~= ARGV[8] then
  return {'lost', 0, -1, '0', '0', epoch}
end

local buckets = {}
local k, a = 5, 12
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

local function most_of(key) return tonumber(redis.call('GET', key)) or 0 end

-- How long until `k` more requests fit in the bucket: at most and at least (a request in
-- flight may be answered any moment, so its slot may free a window from now), and the cause.
local function room(bucket, k)
  local most, least, cause = 0, 0, -1
  local paused = tonumber(redis.call('GET', bucket.pause))
  if paused and paused > now then
    most, least, cause = paused - now, paused - now, 0
  end
  local restoring = tonumber(redis.call('GET', restoring_key))
  if restoring and restoring > now and restoring - now > least then
    most, least, cause = restoring - now, restoring - now, -2
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

-- Whether `k` more requests fit in the bucket now (after room() cleaned its windows).
local function fits(bucket, k)
  if most_of(bucket.pause) > now or most_of(restoring_key) > now then return false end
  for _, w in ipairs(bucket.windows) do
    if redis.call('ZCARD', w.key) + k > w.limit then return false end
  end
  return true
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
    local renewed = tonumber(redis.call('ZSCORE', waiting, head))
    if renewed and renewed > now and owner_alive(alive, head, real) then
      -- its turn cannot come before as many slots free as there are tickets ahead, plus one
      local k = redis.call('ZRANK', q, ticket) + 1
      local most, least, cause = room(bucket, k)
      if not fits(bucket, k) then
        return {'queued', b, cause, num(most), num(least), epoch}
      end
      -- room for every ticket ahead and this one: taking a slot now delays none of them
      -- (waiting for their waiters to ask first would only cost the budget their sleeps)
      break
    end
    -- a waiter that stopped renewing its ticket, or whose worker died: drop it
    redis.call('ZREM', q, head)
    redis.call('ZREM', waiting, head)
  end
  local most, least, cause = room(bucket, 1)
  if most > 0 then
    return {'wait', b, cause, num(most), num(least), epoch}
  end
end
if reach < nb then
  return {'ready', reach, -1, '0', '0', epoch}
end
local reply = {'ok', 0, -1, num(now), '0', epoch}
for b = 1, nb do
  for _, w in ipairs(buckets[b].windows) do
    redis.call('ZADD', w.key, num(now + hold + w.seconds), ticket)
    local ttl = ttl_ms(hold + w.seconds)
    if redis.call('PTTL', w.key) < tonumber(ttl) then redis.call('PEXPIRE', w.key, ttl) end
    reply[#reply + 1] = redis.call('ZCARD', w.key)  -- what a fall-back must assume is used
  end
  redis.call('ZREM', buckets[b].queue, ticket)
end
redis.call('ZREM', waiting, ticket)
return reply
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
-- KEYS: waiting set, then queues, then windows. ARGV: tickets. Waiters give up their places,
-- and any slot an ACQUIRE whose reply never reached them took under their tickets.
for i = 1, #KEYS do
  for t = 1, #ARGV do redis.call('ZREM', KEYS[i], ARGV[t]) end
end
return 1
"""

HEARTBEAT = (
    _COMMON
    + """
-- KEYS: alive set, epoch, restoring, then every window of every bucket. ARGV: now, worker,
-- alive for, heartbeat, the epoch the worker knows, an epoch to create, restore for, then
-- each window's seconds. The worker beats; the requests in flight of workers that no longer
-- beat count as answered when they died: at most one heartbeat after their last beat (a
-- worker that sent a request and then died or froze cannot have it arrive later), or now if
-- that is not known any more. A worker that knew a state Redis no longer holds starts the
-- wait for everyone's records (as ACQUIRE does). Reply: {the epoch, requests freed}.
local now = clock()
local real = real_clock()
local alive, epoch_key, restoring_key = KEYS[1], KEYS[2], KEYS[3]
local alive_for, heartbeat = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZADD', alive, num(real + alive_for), ARGV[2])
redis.call('PEXPIRE', alive, ttl_ms(alive_for))
local epoch = redis.call('GET', epoch_key)
if epoch then
  redis.call('PEXPIRE', epoch_key, EPOCH_TTL)
elseif ARGV[5] ~= '' then
  epoch = ARGV[6]
  redis.call('SET', epoch_key, epoch, 'PX', EPOCH_TTL)
  local restore_for = tonumber(ARGV[7])
  redis.call('SET', restoring_key, num(now + restore_for), 'PX', ttl_ms(restore_for))
else
  epoch = ''
end
local freed = 0
for i = 4, #KEYS do
  local seconds = tonumber(ARGV[i + 4])
  local edge = now + seconds
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. num(edge), '+inf')) do
    if not owner_alive(alive, member, real) then
      local until_ = tonumber(redis.call('ZSCORE', alive, string.match(member, '^(%x+)%.')))
      local score = edge
      if until_ then  -- when it died, on the windows' clock
        local ago = real - (until_ - alive_for + heartbeat)
        if ago > 0 then score = edge - ago end
      end
      redis.call('ZADD', KEYS[i], 'XX', num(score), member)
      freed = freed + 1
    end
  end
end
redis.call('ZREMRANGEBYSCORE', alive, '-inf', num(real))
return {epoch, freed}
"""
)

RESTORE = (
    _COMMON
    + """
-- KEYS: windows. ARGV: now, then per window: how many entries, then member and score of
-- each. Puts back what a worker sent that Redis no longer counts (after a flush or a restart
-- without persistence); entries already there, or past, are left alone.
local now = clock()
local a = 2
for _, key in ipairs(KEYS) do
  local n = tonumber(ARGV[a])
  a = a + 1
  local latest = now
  for _ = 1, n do
    local score = tonumber(ARGV[a + 1])
    if score > now then
      redis.call('ZADD', key, 'NX', num(score), ARGV[a])
      if score > latest then latest = score end
    end
    a = a + 2
  end
  if latest > now then
    local ttl = ttl_ms(latest - now)
    if redis.call('PTTL', key) < tonumber(ttl) then redis.call('PEXPIRE', key, ttl) end
  end
end
return 1
"""
)

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
