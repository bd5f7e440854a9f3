--[[
  Undoes an issuance whose answer came too late: the caller timed out and answered 503, so
  nobody holds the tokens, but Redis had stored them and charged the limiter in time. Sent right
  after the time-out on the same connection, so Redis runs it after that issuance. Also undoes
  a rotation's next token (consume-token-4.lua) the same way.

  Input:
    KEYS[1] grants key        {tag}:g:<bucket>
    KEYS[2] held key          {tag}:h:<bucket>
    ARGV[1..]                 per token, its held member and its grant member (issue-tokens-2.lua)

  Output:
    the number of tokens undone; 0: nothing to undo (the issuance never ran)
]]
local undone = 0
for i = 1, #ARGV, 2 do
  -- The held member names the binding too: only a token this issuance stored is taken back.
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('ZREM', KEYS[1], ARGV[i + 1])
    undone = undone + 1
  end
end
return undone
