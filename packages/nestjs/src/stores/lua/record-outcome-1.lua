--[[
  Records the first request's outcome on its marker, compare-and-set on the owner.

  Input:
    KEYS[1] marker key        {tag}:r:<id>   hash while in progress (consume-token-5.lua)
    ARGV[1] owner             random id of the request that consumed the token
    ARGV[2] outcome           opaque text
    ARGV[3] keep              milliseconds the marker is kept from now

  The recorded marker is a string, '<#b>:<b><#f>:<f><outcome>' (#: length in bytes), not the hash
  with a field more: an outcome is longer than the 64 bytes up to which Redis keeps a hash
  compact, and the string is less than half the memory of the hash it would become.

  Output:
    1 recorded, 0 the marker is gone, not this owner's, or already holds an outcome
]]
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
  return 0
end
local marker = redis.call('HMGET', KEYS[1], 'b', 'f')
-- One write, and SET is deny-oom: at maxmemory (noeviction) the outcome is refused whole and
-- the marker stays in progress. Owner, lease and the token's expiry are dropped with the hash,
-- so a second write (or a release) fails the owner check.
redis.call('SET', KEYS[1],
  #marker[1] .. ':' .. marker[1] .. #marker[2] .. ':' .. marker[2] .. ARGV[2], 'PX', ARGV[3])
return 1
