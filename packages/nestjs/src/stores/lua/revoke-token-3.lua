--[[
  Undoes an issuance whose answer came too late: the caller timed out and answered 503, so
  nobody holds the token, but Redis had stored it and charged the limiter in time. Sent right
  after the time-out on the same connection, so Redis runs it after that issuance.

  Input:
    KEYS[1] token key         {tag}:t:<id>
    KEYS[2] grants key        {tag}:g:<bucket>
    KEYS[3] held key          {tag}:h:<bucket>
    ARGV[1] binding           the binding the issuance wrote
    ARGV[2] member            the token's member in the limiter sets (a prefix of its id)

  Output:
    1 the token, its grant and its holding are gone; 0 nothing to undo (the issuance never ran)
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
