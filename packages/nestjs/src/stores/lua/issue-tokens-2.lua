--[[
  Issues one token, or a batch all or none, if the caller's limiter bucket allows it: the rate
  and quota checks and the writes are one atomic step, so no number of concurrent requests gets
  past a limit.

  Input:
    KEYS[1] grants key        {tag}:g:<bucket>   zset: grant member -> grant time (ms)
    KEYS[2] held key          {tag}:h:<bucket>   zset: the caller's unused tokens,
                                                 <id><binding> -> expiry time (ms)
    ARGV[1] ttl               milliseconds an unused token lives
    ARGV[2] rate limit        grants allowed in any window
    ARGV[3] window            milliseconds
    ARGV[4] max outstanding   unused tokens the caller may hold
    ARGV[5] deadline          ms since the epoch by Redis' clock (0: none); later, change nothing
    ARGV[6..]                 per token, two arguments: its held member (its id, then the
                              binding it is bound to: subject digest and scope), its grant member
                              (a prefix of its id)

  Output: {outcome, retryAfterMs, remaining, resetMs}
    outcome 'granted' | 'rate' | 'quota' | 'collision' (an id exists: the caller retries)
            | 'late' (past the deadline: the caller has given up; nothing issued or charged)
    retryAfterMs  until the window (rate) or the holdings (quota) would admit all of them
    remaining     grants the window admits now; resetMs until its oldest grant leaves (0: none)
]]
--- @include "clock"
--- @include "deadline"

local now = nowMs()
if pastDeadline(ARGV[5], now) then
  return {'late', 0, 0, 0}
end

--- @include "grant-token"

local heldMembers = {}
local grantMembers = {}
for i = 6, #ARGV, 2 do
  heldMembers[#heldMembers + 1] = ARGV[i]
  grantMembers[#grantMembers + 1] = ARGV[i + 1]
end
return grantTokens(KEYS[1], KEYS[2], heldMembers, grantMembers, tonumber(ARGV[1]),
  tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), now)
