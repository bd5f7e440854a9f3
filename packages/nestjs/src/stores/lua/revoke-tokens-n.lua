--[[
  Undoes an issuance whose answer came too late: the caller timed out and answered 503, so
  nobody holds the tokens, but Redis had stored them and charged the limiter in time. Sent right
  after the time-out on the same connection, so Redis runs it after that issuance. Also undoes
  a rotation's next token (consume-token-5.lua) the same way.

  Input (the caller passes the number of keys, 2 + the number of tokens):
    KEYS[1] grants key        {tag}:g:<bucket>
    KEYS[2] held key          {tag}:h:<bucket>
    KEYS[3..] token keys      {tag}:t:<id>
    ARGV[1] binding           the binding the issuance wrote
    ARGV[2..] members         each token's member in the limiter sets

  Output:
    the number of tokens undone; 0: nothing to undo (the issuance never ran)
]]
local undone = 0
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i - 1])
    redis.call('ZREM', KEYS[2], ARGV[i - 1])
    undone = undone + 1
  end
end
return undone
