-- Milliseconds since the epoch by Redis' clock, not the caller's: every app instance then
-- agrees on when a lease ends or a deadline passes.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
