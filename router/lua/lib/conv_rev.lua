-- conv_rev.lua — a conversation's revision ("rev" in hilo:{d:ID}:conv), bumped by every script
-- that changes the conversation so that an engine turn decided on older state is applied
-- again on fresh state. A value that is not a whole number (a hand-edited record) counts as 0
-- and is rewritten by the next bump: no script fails on it, half-way through its writes.
local function conv_rev_value(v)
  v = tonumber(v)
  if not v or v ~= math.floor(v) or v < 0 or v >= 2 ^ 53 then return 0 end
  return v
end
local function conv_rev_bump(key)
  local r = conv_rev_value(redis.call('HGET', key, 'rev')) + 1
  redis.call('HSET', key, 'rev', string.format('%d', r))
  return r
end
