--[[
  Records the first request's outcome on its marker, compare-and-set on the owner.

  Input:
    KEYS[1] marker key        {tag}:r:<id>
    ARGV[1] owner             random id of the request that consumed the token
    ARGV[2] outcome           opaque text
    ARGV[3] keep              milliseconds the marker is kept from now

  Output:
    1 recorded, 0 the marker is gone, not this owner's, or already holds an outcome
]]
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then
  return 0
end
-- HSET first: it is deny-oom, so at maxmemory (noeviction) the outcome is refused whole.
redis.call('HSET', KEYS[1], 'r', ARGV[2])
-- Owner, lease and the token's expiry are spent once the outcome is in: dropping them keeps the
-- marker small and makes a second write (or a release) fail the owner check.
redis.call('HDEL', KEYS[1], 'o', 'l', 'e')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
