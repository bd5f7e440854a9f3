-- Stores a new unused token if the caller's limiter bucket allows it: the rate and quota
-- checks and the write are one step. Sliding window log: a grant at time g counts until
-- g + window; a holding until its expiry. Counted without writing: under maxmemory Redis
-- refuses a script's first write only if that command can grow memory, so the first write
-- must be the SET, never a cleanup.
-- Returns {outcome, retryAfterMs, remaining, resetMs}: 'granted' | 'rate' | 'quota' |
-- 'collision' (the id exists); remaining: grants the window admits now; resetMs: until its
-- oldest grant leaves (0: none).
local function grantToken(tokenKey, grantsKey, heldKey, binding, ttl, member, limit, window, quota, now)
  local inWindow = '(' .. (now - window)
  local unexpired = '(' .. now
  local granted = redis.call('ZCOUNT', grantsKey, inWindow, '+inf')

  local function resetMs()
    local oldest = lowestScore(grantsKey, inWindow)
    if not oldest then
      return 0
    end
    return oldest + window - now
  end

  if granted >= limit then
    local reset = resetMs()
    return {'rate', reset, 0, reset}
  end
  if redis.call('ZCOUNT', heldKey, unexpired, '+inf') >= quota then
    return {'quota', lowestScore(heldKey, unexpired) - now, limit - granted, resetMs()}
  end
  if not redis.call('SET', tokenKey, binding, 'PX', ttl, 'NX') then
    return {'collision', 0, 0, 0}
  end

  redis.call('ZREMRANGEBYSCORE', grantsKey, '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', heldKey, '-inf', now)
  redis.call('ZADD', grantsKey, now, member)
  redis.call('PEXPIRE', grantsKey, window)
  redis.call('ZADD', heldKey, now + ttl, member)
  -- The held set lives as long as its longest-lived token.
  if redis.call('PTTL', heldKey) < ttl then
    redis.call('PEXPIRE', heldKey, ttl)
  end
  return {'granted', 0, limit - granted - 1, resetMs()}
end
