--[[
  Marks a request in progress as waited for (Prefer: wait), so that record-outcome-1.lua
  announces its outcome; a first use that nobody waits for announces nothing.

  Input:
    KEYS[1] marker key        {tag}:r:<id>   hash while in progress

  Output:
    1 marked: wait for the announcement; 0 no request in progress (recorded, or gone): look now
]]
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return 0
end
redis.call('HSET', KEYS[1], 'w', '1')
return 1
