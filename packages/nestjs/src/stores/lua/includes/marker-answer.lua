-- What the marker at `key` tells a copy of the request that holds `binding` and `fingerprint`,
-- or nil when there is no marker. A marker bound to someone else is 'unknown' to this caller;
-- another body under the same token or key is a 'mismatch'. 'mine': `owner`'s own claim, its
-- lease running, so this is that claim again: its answer was lost with the connection and the
-- client sent what was in flight once more (ioredis does, unless told not to); the caller
-- answers it as the first use it is. Recorded: a string, '<#b>:<b><#f>:<f><outcome>'
-- (record-outcome-1.lua); in progress: a hash (b, f, l lease end, o owner; r: an outcome
-- recorded by an earlier version).
local function markerAnswer(key, binding, fingerprint, owner, now)
  local function refusal(markerBinding, markerFingerprint)
    if markerBinding ~= binding then
      return {'unknown'}
    end
    if markerFingerprint ~= fingerprint then
      return {'mismatch'}
    end
  end

  local kind = redis.call('TYPE', key).ok
  if kind == 'string' then
    local recorded = redis.call('GET', key)
    local fields = {}
    local at = 1
    for i = 1, 2 do
      local colon = string.find(recorded, ':', at, true)
      local length = tonumber(string.sub(recorded, at, colon - 1))
      fields[i] = string.sub(recorded, colon + 1, colon + length)
      at = colon + length + 1
    end
    return refusal(fields[1], fields[2]) or {'done', string.sub(recorded, at)}
  end
  if kind ~= 'hash' then
    return nil
  end

  local marker = redis.call('HMGET', key, 'b', 'f', 'l', 'r', 'o')
  local refused = refusal(marker[1], marker[2])
  if refused then
    return refused
  end
  if marker[4] then
    return {'done', marker[4]}
  end
  if tonumber(marker[3]) > now then
    return {marker[5] == owner and 'mine' or 'in_progress'}
  end
  return {'used'}
end
