--[[
  Issues a token if the caller's limiter bucket allows it: the rate and quota checks and the
  write are one atomic step, so no number of concurrent requests gets past a limit.

  Input:
    KEYS[1] token key         {tag}:t:<id>
    KEYS[2] grants key        {tag}:g:<bucket>   zset: member -> grant time (ms)
    KEYS[3] held key          {tag}:h:<bucket>   zset: member -> expiry time (ms)
    ARGV[1] binding           subject digest and scope the token is bound to
    ARGV[2] ttl               milliseconds the unused token lives
    ARGV[3] member            the token's member in the limiter sets (a prefix of its id)
    ARGV[4] rate limit        grants allowed in any window
    ARGV[5] window            milliseconds
    ARGV[6] max outstanding   unused tokens the caller may hold
    ARGV[7] deadline          ms since the epoch by Redis' clock (0: none); later, change nothing

  Output: {outcome, retryAfterMs, remaining, resetMs}
    outcome 'granted' | 'rate' | 'quota' | 'collision' (the id exists: the caller retries)
            | 'late' (past the deadline: the caller has given up; nothing issued or charged)
    remaining  grants the window admits now; resetMs until its oldest grant leaves (0: none)
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local limit = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local quota = tonumber(ARGV[6])
local deadline = tonumber(ARGV[7])

if deadline > 0 and now > deadline then
  return {'late', 0, 0, 0}
end

-- Sliding window log: a grant at time g counts until g + window; a holding until its expiry.
-- Counted without writing: under maxmemory Redis refuses a script's first write only if that
-- command can grow memory, so the first write must be the SET below, never a cleanup.
local inWindow = '(' .. (now - window)
local unexpired = '(' .. now
local granted = redis.call('ZCOUNT', KEYS[2], inWindow, '+inf')

--- @include "lowest-score"

local function resetMs()
  local oldest = lowestScore(KEYS[2], inWindow)
  if not oldest then
    return 0
  end
  return oldest + window - now
end

if granted >= limit then
  local reset = resetMs()
  return {'rate', reset, 0, reset}
end
if redis.call('ZCOUNT', KEYS[3], unexpired, '+inf') >= quota then
  return {'quota', lowestScore(KEYS[3], unexpired) - now, limit - granted, resetMs()}
end
-- SET is deny-oom: at maxmemory (noeviction) the script stops here, before any change.
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl, 'NX') then
  return {'collision', 0, 0, 0}
end

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('PEXPIRE', KEYS[2], window)
redis.call('ZADD', KEYS[3], now + ttl, ARGV[3])
-- The held set lives as long as its longest-lived token.
if redis.call('PTTL', KEYS[3]) < ttl then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {'granted', 0, limit - granted - 1, resetMs()}
