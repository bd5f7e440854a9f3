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

  Output: {outcome, retryAfterMs, remaining, resetMs}
    outcome 'granted' | 'rate' | 'quota' | 'collision' (the id exists: the caller retries)
    remaining  grants the window admits now; resetMs until its oldest grant leaves (0: none)
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local limit = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local quota = tonumber(ARGV[6])

-- Sliding window log: a grant at time g counts until g + window. Expired holdings free places.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local granted = redis.call('ZCARD', KEYS[2])

local function resetMs()
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if #oldest == 0 then
    return 0
  end
  return tonumber(oldest[2]) + window - now
end

if granted >= limit then
  local reset = resetMs()
  return {'rate', reset, 0, reset}
end
if redis.call('ZCARD', KEYS[3]) >= quota then
  local soonest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return {'quota', tonumber(soonest[2]) - now, limit - granted, resetMs()}
end
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl, 'NX') then
  return {'collision', 0, 0, 0}
end

redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('PEXPIRE', KEYS[2], window)
redis.call('ZADD', KEYS[3], now + ttl, ARGV[3])
-- The held set lives as long as its longest-lived token.
if redis.call('PTTL', KEYS[3]) < ttl then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {'granted', 0, limit - granted - 1, resetMs()}
