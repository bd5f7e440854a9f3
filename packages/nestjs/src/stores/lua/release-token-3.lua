--[[
  Undoes a consume whose answer came too late: the caller timed out, answered 503 and never ran
  its handler, but Redis had run the consume in time. Sent right after the time-out on the same
  connection, so Redis runs it after that consume. Gives the token back, unless the marker is
  no longer this request's (another consume, an outcome, or nothing: the consume never ran).

  Input:
    KEYS[1] token key         {tag}:t:<id>
    KEYS[2] marker key        {tag}:r:<id>   written by consume-token-5.lua
    KEYS[3] held key          {tag}:h:<bucket>   zset of the caller's unused tokens (limiter)
    ARGV[1] owner             random id of the request that timed out
    ARGV[2] member            the token's member in the held set (a prefix of its id)

  Output:
    1 undone: the token is unused again (or, had it expired meanwhile, unknown), 0 nothing to undo
]]
--- @include "clock"

-- A recorded marker is a string (record-outcome-1.lua): nothing to undo then either.
if redis.call('TYPE', KEYS[2]).ok ~= 'hash' or redis.call('HGET', KEYS[2], 'o') ~= ARGV[1] then
  return 0
end
local marker = redis.call('HMGET', KEYS[2], 'b', 'e')
-- DEL first: it frees more than the token takes back, and Redis lets a script whose first
-- write is not deny-oom finish even at maxmemory, so the undo is never refused for memory.
redis.call('DEL', KEYS[2])
local now = nowMs()
local expiresAt = tonumber(marker[2]) or 0
if expiresAt <= now then
  return 1
end
redis.call('SET', KEYS[1], marker[1], 'PX', expiresAt - now, 'NX')
redis.call('ZADD', KEYS[3], expiresAt, ARGV[2])
if redis.call('PTTL', KEYS[3]) < expiresAt - now then
  redis.call('PEXPIRE', KEYS[3], expiresAt - now)
end
return 1
