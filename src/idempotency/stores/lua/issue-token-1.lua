--[[
  Stores a new unused token.

  Input:
    KEYS[1] token key         {tag}:t:<id>
    ARGV[1] binding           subject digest and scope the token is bound to
    ARGV[2] ttl               milliseconds

  Output:
    1 stored, 0 the key exists already (a random id collided: the caller retries)
]]
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return 1
end
return 0
