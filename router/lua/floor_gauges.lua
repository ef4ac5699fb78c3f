-- floor_gauges.lua — one part of the floor's figures for Prometheus (/metrics), read by every
-- router every [console] floor_metrics_s (router/src/console/floor_gauges.c): agents by state
-- and, in the first part, per queue the conversations waiting, the oldest wait, the agents with
-- a free slot, the day's first-response SLA (met, breached, waiting past the target now) and
-- the day's resolutions (closed within the queue's target or not).
-- A smaller read than the floor (floor_stats.lua): no channel mix, no per-agent detail.
-- Read-only. The agents are read in parts (SSCAN of hilo:agents, about ARGV[3] per call) so that
-- 20,000 agents never hold Redis for one long call; the router adds the parts up.
-- ARGV[1] now (Unix ms, the stats clock)  ARGV[2] SSCAN cursor ("0" = first part)
-- ARGV[3] agents per part  ARGV[4] the business day (the SLA counters' key suffix)
-- Returns {next cursor ("0" = last part), this part's agents by state as a JSON object (and
-- "calls": how many of them are on the phone with a caller now),
-- the queues as a JSON object (first part only, "" otherwise)}.
-- An agent's state: "disabled" (account disabled), "offline" (no console on any router:
-- not in hilo:agents:seen), else the state the agent chose ("available" or "away").
-- Supervisors are not counted.
-- @include queue_wait.lua
local now = tonumber(ARGV[1])
local cursor = ARGV[2]

local states = {available = 0, away = 0, offline = 0, disabled = 0, calls = 0}
local scan = redis.call('SSCAN', 'hilo:agents', cursor, 'COUNT', ARGV[3])
for _, a in ipairs(scan[2]) do
  local acc = redis.call('HMGET', 'hilo:agent:' .. a, 'role', 'disabled')
  if (acc[1] or 'agent') ~= 'supervisor' then
    local st
    if acc[2] and acc[2] ~= '' and acc[2] ~= '0' then
      st = 'disabled'
    elseif not redis.call('ZSCORE', 'hilo:agents:seen', a) then
      st = 'offline'
    else
      st = redis.call('HGET', 'hilo:agent:' .. a .. ':live', 'state')
      if st ~= 'available' then st = (st == 'offline' or not st) and 'offline' or 'away' end
    end
    states[st] = states[st] + 1
    if (tonumber(redis.call('HGET', 'hilo:agent:' .. a .. ':live', 'load:voice') or '0') or 0) > 0 then
      states.calls = states.calls + agent_calls(a)
    end
  end
end
local agents_json = cjson.encode(states)
if cursor ~= '0' then
  return {scan[1], agents_json, ''}
end

local day = ARGV[4]
local queues = {}
for _, skill in ipairs(redis.call('SMEMBERS', 'hilo:queues')) do
  local qk = 'hilo:queue:' .. skill
  local oldest, _, calls = queue_wait(qk, now)
  local free = {}
  for _, ch in ipairs({'whatsapp', 'sms', 'voice'}) do
    free[ch] = redis.call('ZCARD', 'hilo:free:' .. skill .. ':' .. ch)
  end
  local qtag = 'hilo:{q:' .. skill .. '}:'
  local s = redis.call('HMGET', qtag .. 'sla:' .. day, 'met', 'breached', 'res_met', 'res_breached')
  queues[skill] = {waiting = redis.call('ZCARD', qk), oldest_wait_ms = oldest, free = free, calls_waiting = calls,
                   sla_met = tonumber(s[1] or '0') or 0, sla_breached = tonumber(s[2] or '0') or 0,
                   res_met = tonumber(s[3] or '0') or 0, res_breached = tonumber(s[4] or '0') or 0,
                   sla_breaching = redis.call('ZCOUNT', qtag .. 'await', '-inf', '(' .. now)}
end
return {scan[1], agents_json, cjson.encode(queues)}
