-- Whether a script sent with `deadline` (ms since the epoch by Redis' clock, as the caller
-- passed it; 0: none) runs too late at `now`: the caller has given up and answered, so the
-- script changes nothing. Needs "clock" included before it.
local function pastDeadline(deadline, now)
  local at = tonumber(deadline)
  return at > 0 and now > at
end
