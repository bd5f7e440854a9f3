--[[
  Undoes a key's first use whose answer came too late: the caller timed out, answered 503 and
  never ran its handler, but Redis had claimed the key in time. Sent right after the time-out
  on the same connection, so Redis runs it after that claim. The key works as a first use
  again and the grant is given back, unless the marker is no longer this request's.

  Input:
    KEYS[1] marker key        {tag}:r:<id>   written by claim-key-2.lua
    KEYS[2] grants key        {tag}:g:<bucket>
    ARGV[1] owner             random id of the request that timed out
    ARGV[2] member            the first use's member in the grants set

  Output:
    1 undone, 0 nothing to undo (another request's marker, an outcome, or no claim)
]]
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
