-- floor_stats.lua — one part of the supervisor's live floor (router/src/console/supervisor.c):
-- per queue (waiting, oldest wait, offered, answered, answered within the SLA, abandoned, the
-- debtors' satisfaction answers: hilo:{q:<queue>}:csat, all time), per
-- agent (state, online, load and capacity per channel, handled today), escalations by reason,
-- compliance blocks by reason, bot containment and the channel mix of today's conversations.
-- Read-only. Counters live in hilo:stats:<business day> (written by route_offer.lua,
-- agent_ops.lua and the console's reply path) and, for the SLA, hilo:{q:<queue>}:sla:<day>
-- (met / breached first responses: route_offer.lua, sla_mark.lua; res_met / res_breached
-- resolutions: route_offer.lua, router/src/console/sla_resolution.c).
-- The agents are read in parts (SSCAN of hilo:agents, about ARGV[4] per call) so that a floor
-- of 20,000 agents never holds Redis for one long call; the router joins the parts.
-- ARGV[1] now (Unix ms, the stats clock)  ARGV[2] SLA targets, JSON {"*": {"f": ms, "r": ms},
-- "<queue>": {...}}  ARGV[3] SSCAN cursor ("0" = first part)  ARGV[4] agents per part
-- ARGV[5] the business day (counters' key suffix)  ARGV[6] when it began (Unix ms)
-- ARGV[7] the business day's zone (shown)
-- Returns {next cursor ("0" = last part), this part's agents as a JSON object, the rest of the
-- floor as a JSON object without "agents" (first part only, "" otherwise), the ids of this
-- part's agents holding a voice conversation, comma-separated}; joined, they are the message
-- "floor" of docs/console-protocol.md.
-- @include queue_wait.lua
local now = tonumber(ARGV[1])
local cursor = ARGV[3]

local agents = {}
local voice = {} -- agents of this part holding a call (the supervisor's calls view, drill.c)
local scan = redis.call('SSCAN', 'hilo:agents', cursor, 'COUNT', ARGV[4])
for _, a in ipairs(scan[2]) do
  local acc = redis.call('HMGET', 'hilo:agent:' .. a, 'name', 'role', 'cap:whatsapp', 'cap:sms', 'cap:voice', 'skills')
  local live = redis.call('HMGET', 'hilo:agent:' .. a .. ':live', 'state', 'load:whatsapp', 'load:sms', 'load:voice',
                          'handled:' .. ARGV[5], 'state_ms')
  local seen = redis.call('ZSCORE', 'hilo:agents:seen', a)
  agents[a] = {name = acc[1] or a, role = acc[2] or 'agent', skills = acc[6] or '',
               state = live[1] or 'offline', online = seen ~= false and seen ~= nil,
               load = {whatsapp = tonumber(live[2] or '0'), sms = tonumber(live[3] or '0'), voice = tonumber(live[4] or '0')},
               capacity = {whatsapp = tonumber(acc[3] or '0'), sms = tonumber(acc[4] or '0'), voice = tonumber(acc[5] or '0')},
               handled_today = tonumber(live[5] or '0'), offers = redis.call('SCARD', 'hilo:agent:' .. a .. ':offers'),
               convs = redis.call('SCARD', 'hilo:agent:' .. a .. ':convs'), calls = 0}
  if (tonumber(live[4] or '0') or 0) > 0 then
    voice[#voice + 1] = a
    agents[a].calls = agent_calls(a) -- on the phone with a caller now
  end
end
-- cjson writes an empty table as {} (an object), which is what the join needs.
local agents_json = cjson.encode(agents)
if cursor ~= '0' then
  return {scan[1], agents_json, '', table.concat(voice, ',')}
end

local targets = cjson.decode(ARGV[2])
local function target(q) return targets[q] or targets['*'] or {} end
local day = ARGV[5]
local day_start = tonumber(ARGV[6])
local stats = {}
do
  local l = redis.call('HGETALL', 'hilo:stats:' .. day)
  for i = 1, #l, 2 do stats[l[i]] = tonumber(l[i + 1]) or 0 end
end

local queues = {}
for _, skill in ipairs(redis.call('SMEMBERS', 'hilo:queues')) do
  local qk = 'hilo:queue:' .. skill
  local waiting = redis.call('ZCARD', qk)
  local t = target(skill)
  local first = tonumber(t.f) or 60000
  local oldest, offered, calls = queue_wait(qk, now)
  -- Awaiting a first reply past the target right now (counted breached by the next routing pass).
  local qtag = 'hilo:{q:' .. skill .. '}:'
  local breaching = redis.call('ZCOUNT', qtag .. 'await', '-inf', '(' .. now)
  local s = redis.call('HMGET', qtag .. 'sla:' .. day, 'met', 'breached', 'res_met', 'res_breached')
  local met, breached = tonumber(s[1] or '0') or 0, tonumber(s[2] or '0') or 0
  -- Resolution (escalation to close): closes within the target, and breaches, today.
  local rmet, rbreached = tonumber(s[3] or '0') or 0, tonumber(s[4] or '0') or 0
  local answered = stats['answered:' .. skill] or 0
  local abandoned = stats['abandoned:' .. skill] or 0
  -- The debtors' satisfaction answers (1 to 5) after a close, all time (reopen.lua).
  local cs = redis.call('HMGET', qtag .. 'csat', 'n', 'sum')
  local csat_n, csat_sum = tonumber(cs[1] or '0') or 0, tonumber(cs[2] or '0') or 0
  queues[skill] = {csat_n = csat_n, csat_avg = csat_n > 0 and csat_sum / csat_n or cjson.null,
                   waiting = waiting, oldest_wait_ms = oldest, offered = offered, answered = answered,
                   calls_waiting = calls,
                   abandoned = abandoned, first_response_target_ms = first,
                   resolution_target_ms = tonumber(t.r) or cjson.null,
                   sla_met = met, sla_breached = breached, sla_breaching = breaching,
                   sla_share = (met + breached) > 0 and (met / (met + breached)) or cjson.null,
                   res_met = rmet, res_breached = rbreached,
                   res_share = (rmet + rbreached) > 0 and (rmet / (rmet + rbreached)) or cjson.null}
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

return {scan[1], agents_json, cjson.encode({t = 'floor', now = now, queues = queues,
                     business_day = {zone = ARGV[7], start_ms = day_start, day = tonumber(day)},
                     escalations = escalations, compliance_blocks = blocks, channel_mix = mix,
                     conversations_today = total, escalations_today = esc_total,
                     bot_containment = total > 0 and math.max(0, (total - esc_total) / total) or cjson.null}),
        table.concat(voice, ',')}
