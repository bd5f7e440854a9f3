--[[
  Consumes a one-time token delete-first and claims its consumed-marker, or reports what the
  marker says to a copy.

  Input:
    KEYS[1] token key         {tag}:t:<id>   string: the binding written at issuance
    KEYS[2] marker key        {tag}:r:<id>   hash while in progress: b binding,
                                             f fingerprint, o owner, l lease end (ms since
                                             epoch), e when the token would have expired (ms
                                             since epoch; for release-token-3.lua); a string
                                             once the outcome is recorded
    KEYS[3] held key          {tag}:h:<bucket>   zset of the caller's unused tokens (limiter)
    KEYS[4] grants key        {tag}:g:<bucket>   the limiter's grants (rotation only)
    KEYS[5] next token key    {tag}:t:<next id>  the token a rotation issues (rotation only)
    ARGV[1] binding           subject digest and scope the caller presents
    ARGV[2] fingerprint       of this request
    ARGV[3] owner             random id of this request
    ARGV[4] lease             milliseconds the first request counts as in progress
    ARGV[5] keep              milliseconds the marker is kept
    ARGV[6] member            the token's member in the held set (a prefix of its id)
    ARGV[7] deadline          ms since the epoch by Redis' clock (0: none); later, change nothing
    ARGV[8] next ttl          milliseconds the next token lives; 0: no rotation
    ARGV[9] next member       the next token's member in the limiter sets
    ARGV[10..12]              rate limit, window (ms), max outstanding for the next token

  Output:
    {'first'} | {'first', next outcome, retryAfterMs, remaining, resetMs} (rotation: the next
    token's issuance, as issue-tokens-n.lua answers it); {'first'} too for this owner's consume
    sent again (its answer was lost) | {'unknown'} | {'mismatch'} | {'in_progress'} | {'used'}
    | {'done', outcome}
    | {'late'} (past the deadline: the caller has given up and answered; nothing consumed)
]]
--- @include "clock"

local deadline = tonumber(ARGV[7])
if deadline > 0 and nowMs() > deadline then
  return {'late'}
end

--- @include "grant-token"

local binding = redis.call('GET', KEYS[1])
if binding then
  if binding ~= ARGV[1] then
    return {'unknown'}
  end
  local now = nowMs()
  -- HSET first: it is deny-oom, so at maxmemory (noeviction) Redis refuses the script here,
  -- before the DEL, and the token stays unused. A freeing first write would let it through.
  redis.call('HSET', KEYS[2], 'b', ARGV[1], 'f', ARGV[2], 'o', ARGV[3],
    'l', now + tonumber(ARGV[4]), 'e', now + redis.call('PTTL', KEYS[1]))
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  redis.call('DEL', KEYS[1])
  -- A used token no longer counts against the caller's quota.
  redis.call('ZREM', KEYS[3], ARGV[6])
  local nextTtl = tonumber(ARGV[8])
  if nextTtl == 0 then
    return {'first'}
  end
  local next = grantTokens({KEYS[5]}, KEYS[4], KEYS[3], ARGV[1], nextTtl, {ARGV[9]},
    tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), now)
  return {'first', next[1], next[2], next[3], next[4]}
end

--- @include "marker-answer"

local answer = markerAnswer(KEYS[2], ARGV[1], ARGV[2], ARGV[3], nowMs()) or {'unknown'}
if answer[1] == 'mine' then
  -- A rotation's next token was issued the first time; unnamed now, it expires unused.
  return {'first'}
end
return answer
