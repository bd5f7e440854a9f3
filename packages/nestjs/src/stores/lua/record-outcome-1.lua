--[[
  Records the first request's outcome on its marker, compare-and-set on the owner.

  Input:
    KEYS[1] marker key        {tag}:r:<id>   hash while in progress (consume-token-4.lua)
    ARGV[1] owner             random id of the request that consumed the token
    ARGV[2] outcome           opaque text
    ARGV[3] keep              milliseconds the marker is kept from now
    ARGV[4] channel           where to announce it when a copy waits for it (watch-marker-1.lua
                              set field w); '' on a Cluster, whose copies poll instead

  The recorded marker is a string, '<#b>:<b><#f>:<f><outcome>' (#: length in bytes), not the hash
  with a field more: an outcome is longer than the 64 bytes up to which Redis keeps a hash
  compact, and the string is less than half the memory of the hash it would become.

  Output:
    1 recorded, 0 the marker is gone, not this owner's, or already holds an outcome
]]
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
  return 0
end
local marker = redis.call('HMGET', KEYS[1], 'b', 'f', 'w')
-- One write, and SET is deny-oom: at maxmemory (noeviction) the outcome is refused whole and
-- the marker stays in progress. Owner, lease and the token's expiry are dropped with the hash,
-- so a second write (or a release) fails the owner check.
redis.call('SET', KEYS[1],
  #marker[1] .. ':' .. marker[1] .. #marker[2] .. ':' .. marker[2] .. ARGV[2], 'PX', ARGV[3])
-- Only when a copy waits (Prefer: wait): a first use nobody waits for publishes nothing.
if marker[3] and ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], KEYS[1])
end
return 1
