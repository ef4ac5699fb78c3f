-- floor_stats.lua — one part of the supervisor's live floor (router/src/console/supervisor.c):
-- per queue (waiting, oldest wait, offered, answered, answered within the SLA, abandoned), per
-- agent (state, online, load and capacity per channel, handled today), escalations by reason,
-- compliance blocks by reason, bot containment and the channel mix of today's conversations.
-- Read-only. Counters live in hilo:stats:<UTC day number> (written by route_offer.lua,
-- agent_ops.lua and the console's reply path).
-- The agents are read in parts (SSCAN of hilo:agents, about ARGV[4] per call) so that a floor
-- of 20,000 agents never holds Redis for one long call; the router joins the parts.
-- ARGV[1] now (Unix ms)  ARGV[2] SLA threshold (ms)  ARGV[3] SSCAN cursor ("0" = first part)
-- ARGV[4] agents per part
-- Returns {next cursor ("0" = last part), this part's agents as a JSON object, the rest of the
-- floor as a JSON object without "agents" (first part only, "" otherwise)}; joined, they are
-- the message "floor" of docs/console-protocol.md.
local now = tonumber(ARGV[1])
local cursor = ARGV[3]

local agents = {}
local scan = redis.call('SSCAN', 'hilo:agents', cursor, 'COUNT', ARGV[4])
for _, a in ipairs(scan[2]) do
  local acc = redis.call('HMGET', 'hilo:agent:' .. a, 'name', 'role', 'cap:whatsapp', 'cap:sms', 'cap:voice', 'skills')
  local live = redis.call('HMGET', 'hilo:agent:' .. a .. ':live', 'state', 'load:whatsapp', 'load:sms', 'load:voice',
                          'handled:' .. math.floor(now / 86400000), 'state_ms')
  local seen = redis.call('ZSCORE', 'hilo:agents:seen', a)
  agents[a] = {name = acc[1] or a, role = acc[2] or 'agent', skills = acc[6] or '',
               state = live[1] or 'offline', online = seen ~= false and seen ~= nil,
               load = {whatsapp = tonumber(live[2] or '0'), sms = tonumber(live[3] or '0'), voice = tonumber(live[4] or '0')},
               capacity = {whatsapp = tonumber(acc[3] or '0'), sms = tonumber(acc[4] or '0'), voice = tonumber(acc[5] or '0')},
               handled_today = tonumber(live[5] or '0'), offers = redis.call('SCARD', 'hilo:agent:' .. a .. ':offers'),
               convs = redis.call('SCARD', 'hilo:agent:' .. a .. ':convs')}
end
-- cjson writes an empty table as {} (an object), which is what the join needs.
local agents_json = cjson.encode(agents)
if cursor ~= '0' then
  return {scan[1], agents_json, ''}
end

local sla = tonumber(ARGV[2])
local day = math.floor(now / 86400000)
local day_start = day * 86400000
local stats = {}
do
  local l = redis.call('HGETALL', 'hilo:stats:' .. day)
  for i = 1, #l, 2 do stats[l[i]] = tonumber(l[i + 1]) or 0 end
end

local queues = {}
for _, skill in ipairs(redis.call('SMEMBERS', 'hilo:queues')) do
  local qk = 'hilo:queue:' .. skill
  local waiting = redis.call('ZCARD', qk)
  local oldest, offered = 0, 0
  for _, d in ipairs(redis.call('ZRANGE', qk, 0, 199)) do
    local f = redis.call('HMGET', 'hilo:{d:' .. d .. '}:conv', 'esc_ms', 'offer_agent', 'state')
    if f[3] == 'queued' then
      local w = now - (tonumber(f[1] or now) or now)
      if w > oldest then oldest = w end
      if f[2] then offered = offered + 1 end
    end
  end
  local answered = stats['answered:' .. skill] or 0
  local in_sla = stats['answered_sla:' .. skill] or 0
  local abandoned = stats['abandoned:' .. skill] or 0
  local handled = answered + abandoned
  queues[skill] = {waiting = waiting, oldest_wait_ms = oldest, offered = offered, answered = answered,
                   answered_in_sla = in_sla, abandoned = abandoned,
                   sla_share = handled > 0 and (in_sla / handled) or cjson.null}
end

local escalations, blocks, esc_total = {}, {}, 0
for k, v in pairs(stats) do
  local reason = string.match(k, '^esc:(.+)$')
  if reason then escalations[reason] = v; esc_total = esc_total + v end
  local b = string.match(k, '^block:(.+)$')
  if b then blocks[b] = v end
end

local mix, total = {}, 0
for _, d in ipairs(redis.call('ZRANGEBYSCORE', 'hilo:convs', day_start, '+inf', 'LIMIT', 0, 5000)) do
  local ch = redis.call('HGET', 'hilo:{d:' .. d .. '}:conv', 'last_channel') or 'unknown'
  mix[ch] = (mix[ch] or 0) + 1
  total = total + 1
end

return {scan[1], agents_json, cjson.encode({t = 'floor', now = now, sla_ms = sla, queues = queues,
                     escalations = escalations, compliance_blocks = blocks, channel_mix = mix,
                     conversations_today = total, escalations_today = esc_total,
                     bot_containment = total > 0 and math.max(0, (total - esc_total) / total) or cjson.null})}
