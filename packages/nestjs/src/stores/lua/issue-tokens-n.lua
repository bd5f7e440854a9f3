--[[
  Issues one token, or a batch all or none, if the caller's limiter bucket allows it: the rate
  and quota checks and the writes are one atomic step, so no number of concurrent requests gets
  past a limit.

  Input (the caller passes the number of keys, 2 + the number of tokens):
    KEYS[1] grants key        {tag}:g:<bucket>   zset: member -> grant time (ms)
    KEYS[2] held key          {tag}:h:<bucket>   zset: member -> expiry time (ms)
    KEYS[3..] token keys      {tag}:t:<id>, one per token, all under the caller's tag
    ARGV[1] binding           subject digest and scope the tokens are bound to
    ARGV[2] ttl               milliseconds an unused token lives
    ARGV[3] rate limit        grants allowed in any window
    ARGV[4] window            milliseconds
    ARGV[5] max outstanding   unused tokens the caller may hold
    ARGV[6] deadline          ms since the epoch by Redis' clock (0: none); later, change nothing
    ARGV[7..] members         each token's member in the limiter sets (a prefix of its id)

  Output: {outcome, retryAfterMs, remaining, resetMs}
    outcome 'granted' | 'rate' | 'quota' | 'collision' (an id exists: the caller retries)
            | 'late' (past the deadline: the caller has given up; nothing issued or charged)
    retryAfterMs  until the window (rate) or the holdings (quota) would admit all of them
    remaining     grants the window admits now; resetMs until its oldest grant leaves (0: none)
]]
--- @include "clock"

local now = nowMs()
local deadline = tonumber(ARGV[6])
if deadline > 0 and now > deadline then
  return {'late', 0, 0, 0}
end

--- @include "grant-token"

local tokenKeys = {}
local members = {}
for i = 3, #KEYS do
  tokenKeys[#tokenKeys + 1] = KEYS[i]
  members[#members + 1] = ARGV[i + 4]
end
return grantTokens(tokenKeys, KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), members,
  tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), now)
