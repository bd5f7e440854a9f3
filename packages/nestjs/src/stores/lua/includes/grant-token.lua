-- Stores new unused tokens if the caller's limiter bucket allows all of them: the rate and quota
-- checks and the writes are one step, all or none. A token is a member of the caller's held set
-- (`heldMembers`: its id and binding, scored with its expiry), and a grant a member of the
-- grants set (`grantMembers`, scored with the grant time). Sliding window log: a grant at time
-- g counts until g + window; a holding until its expiry. Counted without writing: under
-- maxmemory Redis refuses a script's first write only if that command can grow memory, so the
-- first write must be a ZADD of a token, never a cleanup.
-- Returns {outcome, retryAfterMs, remaining, resetMs}: 'granted' | 'rate' | 'quota' |
-- 'collision' (a token exists); retryAfterMs: until all of them would pass; remaining: grants
-- the window admits now; resetMs: until its oldest grant leaves (0: none).
local function grantTokens(grantsKey, heldKey, heldMembers, grantMembers, ttl, limit, window, quota, now)
  local count = #heldMembers
  local inWindow = '(' .. (now - window)
  local unexpired = '(' .. now
  local granted = redis.call('ZCOUNT', grantsKey, inWindow, '+inf')

  -- The score of the nth lowest member above min (nil when there are fewer).
  local function nthScore(key, min, n)
    local found = redis.call('ZRANGEBYSCORE', key, min, '+inf', 'WITHSCORES', 'LIMIT', n - 1, 1)
    return found[2] and tonumber(found[2])
  end

  local function resetMs()
    local oldest = nthScore(grantsKey, inWindow, 1)
    if not oldest then
      return 0
    end
    return oldest + window - now
  end

  if granted + count > limit then
    -- Room for all of them when enough of the oldest grants have left; never, beyond the limit.
    local leaving = count > limit and nil or nthScore(grantsKey, inWindow, granted + count - limit)
    return {'rate', leaving and (leaving + window - now) or window, math.max(0, limit - granted), resetMs()}
  end
  local held = redis.call('ZCOUNT', heldKey, unexpired, '+inf')
  if held + count > quota then
    local expiring = count > quota and nil or nthScore(heldKey, unexpired, held + count - quota)
    return {'quota', expiring and (expiring - now) or ttl, limit - granted, resetMs()}
  end
  for i = 1, count do
    if redis.call('ZSCORE', heldKey, heldMembers[i]) then
      return {'collision', 0, 0, 0}
    end
  end
  for i = 1, count do
    redis.call('ZADD', heldKey, now + ttl, heldMembers[i])
  end

  redis.call('ZREMRANGEBYSCORE', grantsKey, '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', heldKey, '-inf', now)
  for i = 1, count do
    redis.call('ZADD', grantsKey, now, grantMembers[i])
  end
  redis.call('PEXPIRE', grantsKey, window)
  -- The held set lives as long as its longest-lived token.
  if redis.call('PTTL', heldKey) < ttl then
    redis.call('PEXPIRE', heldKey, ttl)
  end
  return {'granted', 0, limit - granted - count, resetMs()}
end
