--[[
  Claims a client-chosen key's first use (Idempotency-Key) if the caller's rate window allows
  it, or reports what the key's marker says to a copy. The check and the claim are one atomic
  step, as a token's consume: of any number of concurrent requests with one key, one is first.

  Input:
    KEYS[1] marker key        {tag}:r:<id>   as a token's (consume-token-4.lua); <id> is a
                                             digest of the scope and the key, {tag} the caller's
    KEYS[2] grants key        {tag}:g:<bucket>   zset: member -> grant time (ms), shared with
                                                 issue-tokens-n.lua: a first use is a grant
    ARGV[1] binding           subject digest and scope of the caller
    ARGV[2] fingerprint       of this request
    ARGV[3] owner             random id of this request
    ARGV[4] lease             milliseconds the first request counts as in progress
    ARGV[5] keep              milliseconds the marker is kept
    ARGV[6] member            the first use's member in the grants set (a prefix of <id>)
    ARGV[7] rate limit        grants allowed in any window
    ARGV[8] window            milliseconds
    ARGV[9] deadline          ms since the epoch by Redis' clock (0: none); later, change nothing

  Output:
    {'first', remaining, resetMs} (also for this owner's claim sent again: its answer was lost)
    | {'rate', retryAfterMs, resetMs}
    | {'unknown'} | {'mismatch'} | {'in_progress'} | {'used'} | {'done', outcome}
    | {'late'} (past the deadline: the caller has given up and answered; nothing claimed)
]]
--- @include "clock"
--- @include "deadline"

local now = nowMs()
if pastDeadline(ARGV[9], now) then
  return {'late'}
end

--- @include "marker-answer"
--- @include "lowest-score"

local copy = markerAnswer(KEYS[1], ARGV[1], ARGV[2], ARGV[3], now)
if copy and copy[1] ~= 'mine' then
  return copy
end

local limit = tonumber(ARGV[7])
local window = tonumber(ARGV[8])
local inWindow = '(' .. (now - window)
local granted = redis.call('ZCOUNT', KEYS[2], inWindow, '+inf')
local oldest = lowestScore(KEYS[2], inWindow)
local reset = oldest and (oldest + window - now) or 0
if copy then
  -- This claim again: it was granted the first time, and is counted among `granted`.
  return {'first', limit - granted, reset}
end
if granted >= limit then
  return {'rate', reset, reset}
end

-- HSET first: it is deny-oom, so at maxmemory (noeviction) nothing is claimed or charged.
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'f', ARGV[2], 'o', ARGV[3], 'l', now + tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZADD', KEYS[2], now, ARGV[6])
redis.call('PEXPIRE', KEYS[2], window)
if reset == 0 then
  reset = window
end
return {'first', limit - granted - 1, reset}
