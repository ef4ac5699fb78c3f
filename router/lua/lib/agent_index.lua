-- lib/agent_index.lua — the index of agents who can take a conversation now, included (by
-- embed.cmake, at its "@include" line) in the scripts that change an agent's state or load
-- (agent_ops.lua, route_offer.lua).
-- hilo:free:<skill>:<channel> (zset): an agent is in it while available, not disabled, with
-- that skill and capacity left on that channel; the score orders least loaded first, then the
-- one offered longest ago (total load * 1e13 + last offer ms). Routing reads candidates from it
-- instead of every agent of the skill, and checks each one before offering, so an entry that
-- is out of date is only a wasted look (it is then refreshed). Every script that changes an
-- agent's state, load or last offer calls agent_index_refresh(a); route_offer.lua also refreshes
-- a slice of all agents on every pass, which picks up capacity and skill changes made by
-- `hilo agent add` and builds the index for agents that predate it.
local AGENT_CHANNELS = {'whatsapp', 'sms', 'voice'}

local function agent_index_refresh(a)
  local acc = redis.call('HMGET', 'hilo:agent:' .. a, 'skills', 'cap:whatsapp', 'cap:sms', 'cap:voice', 'disabled')
  local live = redis.call('HMGET', 'hilo:agent:' .. a .. ':live', 'state', 'load:whatsapp', 'load:sms', 'load:voice',
                          'last_offer_ms')
  local avail = live[1] == 'available' and acc[5] ~= '1'
  local total = 0
  for i = 1, 3 do total = total + (tonumber(live[1 + i] or '0') or 0) end
  local score = total * 1e13 + (tonumber(live[5] or '0') or 0)
  for skill in string.gmatch(acc[1] or '', '[^,]+') do
    for i, ch in ipairs(AGENT_CHANNELS) do
      local key = 'hilo:free:' .. skill .. ':' .. ch
      if avail and (tonumber(acc[1 + i] or '0') or 0) > (tonumber(live[1 + i] or '0') or 0) then
        redis.call('ZADD', key, score, a)
      else
        redis.call('ZREM', key, a)
      end
    end
  end
end
