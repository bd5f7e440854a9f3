-- The lowest score above `min` in the sorted set at `key` (nil when none): the oldest grant in
-- a window, or the soonest expiry of a held token.
local function lowestScore(key, min)
  local first = redis.call('ZRANGEBYSCORE', key, min, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return first[2] and tonumber(first[2])
end
