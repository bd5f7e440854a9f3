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
local deadline = tonumber(ARGV[7])
if deadline > 0 and now > deadline then
  return {'late', 0, 0, 0}
end

--- @include "lowest-score"
--- @include "grant-token"

return grantToken(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), ARGV[3],
  tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), now)
