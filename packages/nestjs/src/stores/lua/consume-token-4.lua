--[[
  Consumes a one-time token delete-first and claims its consumed-marker, or reports what the
  marker says to a copy.

  Input:
    KEYS[1] marker key        {tag}:r:<id>   hash while in progress: b binding,
                                             f fingerprint, o owner, l lease end (ms since
                                             epoch), e when the token would have expired (ms
                                             since epoch; for release-token-2.lua); a string
                                             once the outcome is recorded
    KEYS[2] held key          {tag}:h:<bucket>   zset of the caller's unused tokens,
                                                 <id><binding> -> expiry (issue-tokens-2.lua)
    KEYS[3] grants key        {tag}:g:<bucket>   the limiter's grants (rotation only)
    KEYS[4] legacy token key  {tag}:t:<id>   string: the binding; how versions up to 0.2
                                             stored an unused token
    ARGV[1] binding           subject digest and scope the caller presents
    ARGV[2] fingerprint       of this request
    ARGV[3] owner             random id of this request
    ARGV[4] lease             milliseconds the first request counts as in progress
    ARGV[5] keep              milliseconds the marker is kept
    ARGV[6] held member       the token's id and the binding presented
    ARGV[7] deadline          ms since the epoch by Redis' clock (0: none); later, change nothing
    ARGV[8..13], rotation only (absent: no next token; fewer arguments are cheaper to send):
    ARGV[8] next ttl          milliseconds the next token lives
    ARGV[9..10]               the next token's held and grant members
    ARGV[11..13]              rate limit, window (ms), max outstanding for the next token

  Output:
    {'first'} | {'first', next outcome, retryAfterMs, remaining, resetMs} (rotation: the next
    token's issuance, as issue-tokens-2.lua answers it); {'first'} too for this owner's consume
    sent again (its answer was lost) | {'unknown'} | {'mismatch'} | {'in_progress'} | {'used'}
    | {'done', outcome}
    | {'late'} (past the deadline: the caller has given up and answered; nothing consumed)
]]
--- @include "clock"
--- @include "deadline"

local now = nowMs()
if pastDeadline(ARGV[7], now) then
  return {'late'}
end

--- @include "grant-token"

-- Unused: in the held set under the presented binding (another binding is another member),
-- not yet expired.
local expiresAt = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[6]))
local legacy = false
if not expiresAt or expiresAt <= now then
  expiresAt = nil
  if redis.call('GET', KEYS[4]) == ARGV[1] then
    legacy = true
    expiresAt = now + redis.call('PTTL', KEYS[4])
  end
end
if expiresAt then
  -- HSET first: it is deny-oom, so at maxmemory (noeviction) Redis refuses the script here,
  -- before the ZREM, and the token stays unused. A freeing first write would let it through.
  redis.call('HSET', KEYS[1], 'b', ARGV[1], 'f', ARGV[2], 'o', ARGV[3],
    'l', now + tonumber(ARGV[4]), 'e', expiresAt)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  if legacy then
    redis.call('DEL', KEYS[4])
    -- Its held member was the first 8 characters of its id, as grant members still are.
    redis.call('ZREM', KEYS[2], string.sub(ARGV[6], 1, 8))
  else
    redis.call('ZREM', KEYS[2], ARGV[6])
  end
  if not ARGV[8] then
    return {'first'}
  end
  local next = grantTokens(KEYS[3], KEYS[2], {ARGV[9]}, {ARGV[10]}, tonumber(ARGV[8]),
    tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), now)
  return {'first', next[1], next[2], next[3], next[4]}
end

--- @include "marker-answer"

local answer = markerAnswer(KEYS[1], ARGV[1], ARGV[2], ARGV[3], now) or {'unknown'}
if answer[1] == 'mine' then
  -- A rotation's next token was issued the first time; unnamed now, it expires unused.
  return {'first'}
end
return answer
