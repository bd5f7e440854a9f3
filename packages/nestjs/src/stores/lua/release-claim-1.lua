--[[
  Drops a message's claim whose run failed (or whose claim answered too late), so that the
  broker's next delivery runs it.

  Input:
    KEYS[1] marker key        {tag}:r:<id>   written by claim-message-1.lua
    ARGV[1] owner             random id of the run

  Output:
    1 dropped, 0 not this run's claim (another run's, recorded, or none)
]]
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
