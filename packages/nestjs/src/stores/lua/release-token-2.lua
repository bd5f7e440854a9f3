--[[
  Undoes a consume whose answer came too late: the caller timed out, answered 503 and never ran
  its handler, but Redis had run the consume in time. Sent right after the time-out on the same
  connection, so Redis runs it after that consume. Gives the token back, unless the marker is
  no longer this request's (another consume, an outcome, or nothing: the consume never ran).

  Input:
    KEYS[1] marker key        {tag}:r:<id>   written by consume-token-4.lua
    KEYS[2] held key          {tag}:h:<bucket>   the caller's unused tokens
    ARGV[1] owner             random id of the request that timed out
    ARGV[2] held member       the token's member in the held set (its id and binding)

  Output:
    1 undone: the token is unused again (or, had it expired meanwhile, unknown), 0 nothing to undo
]]
--- @include "clock"

-- A recorded marker is a string (record-outcome-1.lua): nothing to undo then either.
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
  return 0
end
local expiresAt = tonumber(redis.call('HGET', KEYS[1], 'e')) or 0
-- DEL first: it frees more than the token takes back, and Redis lets a script whose first
-- write is not deny-oom finish even at maxmemory, so the undo is never refused for memory.
redis.call('DEL', KEYS[1])
local now = nowMs()
if expiresAt <= now then
  return 1
end
redis.call('ZADD', KEYS[2], expiresAt, ARGV[2])
if redis.call('PTTL', KEYS[2]) < expiresAt - now then
  redis.call('PEXPIRE', KEYS[2], expiresAt - now)
end
return 1
