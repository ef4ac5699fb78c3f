-- lib/agent_leave.lua — taking an offer back, and taking an agent out of routing, included (by
-- embed.cmake) after agent_index.lua and conv_rev.lua in route_offer.lua (accept timeouts,
-- agents gone past the grace period) and agent_ops.lua (logout, a session's end, revocation).
-- One copy of the rules, so that an agent who leaves is treated the same whichever way.

-- The debtor's pending offer is withdrawn: the agent's reserved capacity is given back, the
-- agent is remembered as having passed (routing offers it to someone else on its next pass).
local function offer_release(d, why, now)
  local ck = 'hilo:{d:' .. d .. '}:conv'
  local a = redis.call('HGET', ck, 'offer_agent')
  redis.call('ZREM', 'hilo:offers', d)
  if not a then return end
  local lk = 'hilo:agent:' .. a .. ':live'
  local ch = redis.call('HGET', ck, 'offer_ch') or 'whatsapp'
  if tonumber(redis.call('HINCRBY', lk, 'load:' .. ch, -1)) < 0 then redis.call('HSET', lk, 'load:' .. ch, 0) end
  agent_index_refresh(a)
  redis.call('SREM', 'hilo:agent:' .. a .. ':offers', d)
  local declined = redis.call('HGET', ck, 'declined') or ''
  redis.call('HSET', ck, 'declined', declined .. a .. ',')
  redis.call('HDEL', ck, 'offer_agent', 'offer_ch', 'offer_deadline', 'offer_ms')
  conv_rev_bump(ck)
  redis.call('XADD', 'hilo:{d:' .. d .. '}:audit', '*', 'ev', 'offer_' .. why, 'j', cjson.encode({agent = a, ms = now}))
  redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', 'offer_gone', 'a', a, 'd', d)
end

-- The agent is out of routing at once: offline, out of the available set and of presence (so
-- the grace sweep has nothing left to do), out of the free index; every offer they held goes
-- back to its queue for another agent. The conversations they hold stay theirs.
local function agent_leave(a, why, now)
  redis.call('ZREM', 'hilo:agents:seen', a)
  redis.call('HSET', 'hilo:agent:' .. a .. ':live', 'state', 'offline', 'state_ms', now)
  redis.call('SREM', 'hilo:agents:available', a)
  for _, d in ipairs(redis.call('SMEMBERS', 'hilo:agent:' .. a .. ':offers')) do offer_release(d, why, now) end
  agent_index_refresh(a)
  redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', 'agent', 'a', a, 'd', '')
end
