--[[
  Claims a message's run (runOnce): the first claim holds a lease; later ones learn whether a
  run finished, is running, or died (lease over, nothing recorded).

  Input:
    KEYS[1] marker key        {tag}:r:<id>   hash while a run holds it: b and f empty (a
                                             message has no binding or fingerprint), o owner,
                                             l lease end (ms since epoch); a string once the
                                             result is recorded (record-outcome-1.lua)
    ARGV[1] owner             random id of this run
    ARGV[2] lease             milliseconds the run counts as in progress
    ARGV[3] keep              milliseconds the marker is kept
    ARGV[4] after crash       'retry': a run whose lease ran out is taken over; 'skip': reported
    ARGV[5] deadline          ms since the epoch by Redis' clock (0: none); later, change nothing

  Output:
    {'claimed'} (also for this owner's claim sent again: its answer was lost) | {'reclaimed'}
    | {'crashed'} | {'in_progress'} | {'done', outcome}
    | {'late'} (past the deadline: the caller has given up; nothing claimed)
]]
--- @include "clock"
--- @include "deadline"

local now = nowMs()
if pastDeadline(ARGV[5], now) then
  return {'late'}
end

local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then
  -- '<#b>:<b><#f>:<f><outcome>' with b and f empty: the outcome starts after '0:0:'.
  return {'done', string.sub(redis.call('GET', KEYS[1]), 5)}
end
if kind == 'hash' then
  local marker = redis.call('HMGET', KEYS[1], 'o', 'l')
  if tonumber(marker[2]) > now then
    -- Its own owner's: this claim again, its answer lost with the connection (marker-answer.lua).
    return {marker[1] == ARGV[1] and 'claimed' or 'in_progress'}
  end
  if ARGV[4] ~= 'retry' then
    return {'crashed'}
  end
  redis.call('HSET', KEYS[1], 'o', ARGV[1], 'l', now + tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'reclaimed'}
end
-- HSET first: it is deny-oom, so at maxmemory (noeviction) nothing is claimed.
redis.call('HSET', KEYS[1], 'b', '', 'f', '', 'o', ARGV[1], 'l', now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'claimed'}
