-- route_offer.lua — one routing pass over every human queue, run by every router on a timer
-- (router/src/console/routing.c). Atomic, so several routers may run it at once.
--   1. offers past their accept deadline are released (the agent's reserved capacity is given
--      back, the agent is remembered as having passed) — the conversation is offered again;
--   2. agents not seen for the grace period go offline and their offers are released;
--   3. an entry whose conversation is not queued in that very queue (conv `queue`) leaves it: a
--      caller who left without an agent is counted abandoned (once per escalation, `q_left`),
--      a stale entry is not — the router writes an escalation's entry before the turn's script
--      (router/src/engine_indexes.c), so a turn that did not commit leaves one, as does a move
--      to another queue whose old entry's removal did not run;
--      the head of each queue (lowest score first: escalation time minus priority credit, so
--      waiting ages every entry forward) is offered to the best agent: last agent first
--      (stickiness), else an available agent with the skill and free capacity on the
--      conversation's channel, least loaded first — read in that order from the index
--      hilo:free:<skill>:<channel> (lib/agent_index.lua), each candidate checked before the
--      offer, so a pass costs the candidates looked at, not every agent of the skill.
--      Reserving = incrementing the agent's load inside this script, so concurrent routing can
--      never exceed an agent's capacity;
--   4. a slice of all agents (ARGV[6], round-robin over hilo:agents) has its index entries
--      refreshed: capacity and skill changes, agents that predate the index.
-- KEYS: none declared (agent and queue keys are global; like commit_outbound.lua this needs a
--       single Redis — see docs/architecture.md, "Keys on a Redis Cluster").
-- ARGV[1] now (Unix ms)  ARGV[2] accept timeout (ms)  ARGV[3] grace period (ms)
-- ARGV[4] queue entries examined per queue  ARGV[5] reopen window (ms)
-- ARGV[6] agents whose index entries are refreshed per pass
-- ARGV[7] the SLA clock (Unix ms: the router's, or the test clock)  ARGV[8] its business day
-- (the day counters' key suffix)  ARGV[9] first-response targets, JSON {"*": {"f": ms}, "<queue>":
-- {"f": ms}} ([sla] in the router's config)  ARGV[10] offers an agent may hold at once (0 = as
-- many as their capacity allows: [console] max_offers)  ARGV[11] how long a conversation every
-- candidate has passed on waits before it is offered to them again ([console] decline_cooldown_ms)
-- SLA: a conversation seen queued for the first time since its escalation is awaited on its
-- queue (hilo:{q:<queue>}:await, member "<debtor>|<esc_ms>", score its first-response
-- deadline; the conv's sla_q names that queue); a member still there past its deadline is
-- counted breached on that day (hilo:{q:<queue>}:sla:<day>); one that leaves the queue without
-- an agent before it is dropped uncounted. The first reply's verdict: sla_mark.lua.
-- Resolution (escalation to close) the same way: awaited on hilo:{q:<queue>}:resolve (score the
-- resolution deadline; the conv's res_q names the queue), counted res_breached past it, res_met
-- by a close before it (router/src/console/sla_resolution.c). Every breach counted here is also
-- put on hilo:{q:<queue>}:overdue ("f|" or "r|" + member, score the deadline), which the
-- supervisor's live alerts read (router/src/console/drill_alerts.c).
-- Returns the number of offers made. Every change is also appended to the event stream
-- hilo:console:events (fields k = kind, a = agent, d = debtor), which every router reads to
-- push updates to its consoles.
local now = tonumber(ARGV[1])
local timeout = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local scan = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', 'hilo:closed', '-inf', now - tonumber(ARGV[5])) -- past reopening
local day = ARGV[8]
local sla_now = tonumber(ARGV[7])
local targets = cjson.decode(ARGV[9])
local function first_target(q) return tonumber((targets[q] or targets['*'] or {}).f) or 60000 end
local function res_target(q) return tonumber((targets[q] or targets['*'] or {}).r) or 14400000 end
local max_offers = tonumber(ARGV[10]) or 0
local cooldown = tonumber(ARGV[11]) or 0
local SLA_KEEP = 8 * 86400 -- seconds a day's SLA counters are kept (the floor reads today's)

local function conv_key(d) return 'hilo:{d:' .. d .. '}:conv' end
local function live_key(a) return 'hilo:agent:' .. a .. ':live' end
-- @include agent_index.lua
-- @include conv_rev.lua
-- @include agent_leave.lua
local function event(kind, a, d)
  redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', kind, 'a', a or '', 'd', d or '')
end
local function audit(d, ev, j)
  redis.call('XADD', 'hilo:{d:' .. d .. '}:audit', '*', 'ev', ev, 'j', cjson.encode(j))
end

-- 1. expired offers
for _, d in ipairs(redis.call('ZRANGEBYSCORE', 'hilo:offers', '-inf', now, 'LIMIT', 0, 200)) do
  offer_release(d, 'timeout', now)
end

-- 2. agents gone past the grace period
for _, a in ipairs(redis.call('ZRANGEBYSCORE', 'hilo:agents:seen', '-inf', now - grace, 'LIMIT', 0, 200)) do
  agent_leave(a, 'agent_gone', now)
end

-- 3. offers
local agent_cache = {}
local function agent(a)
  local c = agent_cache[a]
  if c == nil then
    local l = redis.call('HGETALL', live_key(a))
    local live = {}
    for i = 1, #l, 2 do live[l[i]] = l[i + 1] end
    c = false
    if live.state == 'available' and redis.call('ZSCORE', 'hilo:agents:seen', a) then
      local acc = redis.call('HMGET', 'hilo:agent:' .. a, 'cap:whatsapp', 'cap:sms', 'cap:voice', 'disabled')
      if acc[4] ~= '1' then
        c = {id = a, cap = {whatsapp = tonumber(acc[1] or '0') or 0, sms = tonumber(acc[2] or '0') or 0,
                            voice = tonumber(acc[3] or '0') or 0},
             load = {}, total = 0, last = tonumber(live.last_offer_ms or '0') or 0,
             offers = max_offers > 0 and redis.call('SCARD', 'hilo:agent:' .. a .. ':offers') or 0}
        for _, ch in ipairs({'whatsapp', 'sms', 'voice'}) do
          c.load[ch] = tonumber(live['load:' .. ch] or '0') or 0
          c.total = c.total + c.load[ch]
        end
      end
    end
    agent_cache[a] = c
  end
  return c
end
local function free(c, ch)
  return c and (c.cap[ch] or 0) > (c.load[ch] or 0) and (max_offers == 0 or c.offers < max_offers)
end

local offers = 0
for _, skill in ipairs(redis.call('SMEMBERS', 'hilo:queues')) do
  local qk = 'hilo:queue:' .. skill
  local await_key = 'hilo:{q:' .. skill .. '}:await'
  -- Awaited past the deadline without a first reply: breached.
  local overdue_key = 'hilo:{q:' .. skill .. '}:overdue'
  for _, kind in ipairs({{'f', await_key, 'breached'}, {'r', 'hilo:{q:' .. skill .. '}:resolve', 'res_breached'}}) do
    local l = redis.call('ZRANGEBYSCORE', kind[2], '-inf', '(' .. sla_now, 'LIMIT', 0, 200, 'WITHSCORES')
    for i = 1, #l, 2 do
      redis.call('ZREM', kind[2], l[i])
      local sk = 'hilo:{q:' .. skill .. '}:sla:' .. day
      redis.call('HINCRBY', sk, kind[3], 1)
      redis.call('EXPIRE', sk, SLA_KEEP)
      redis.call('ZADD', overdue_key, l[i + 1], kind[1] .. '|' .. l[i])
      redis.call('ZREMRANGEBYRANK', overdue_key, 0, -1001) -- the newest 1,000 (alerts show far fewer)
    end
  end
  for _, d in ipairs(redis.call('ZRANGE', qk, 0, scan - 1)) do
    local ck = conv_key(d)
    local f = redis.call('HMGET', ck, 'state', 'offer_agent', 'last_agent', 'last_channel', 'declined', 'esc_reason',
                         'esc_counted', 'esc_ms', 'resp_ms', 'queue', 'q_left')
    -- Queued here: queued, and this is its queue (a queued record without the field: this one).
    local here = f[10] == nil or f[10] == skill
    if f[1] ~= 'queued' or not here then
      redis.call('ZREM', qk, d)
      -- Left the queue without an agent answering (the caller hung up, the bot resumed): counted
      -- abandoned once per escalation (q_left records the escalation counted). Not counted: an
      -- entry of a conversation an agent took (assigned, closed), one queued in another queue
      -- (the step that removes the old entry after a move, engine_indexes.c, did not run), and
      -- a stale entry — the router writes the entry before the turn's script, and a turn that
      -- did not commit (a crash, the conversation moved on) leaves it for a conversation that
      -- was never queued here, or whose leaving was counted already.
      if f[1] ~= 'queued' and f[1] ~= 'assigned' then
        if f[1] ~= 'closed' and f[10] == skill and f[8] and f[11] ~= f[8] then
          redis.call('HINCRBY', 'hilo:stats:' .. day, 'abandoned:' .. skill, 1)
          if f[8] then redis.call('HSET', ck, 'q_left', f[8]) end
        end
        if f[8] then
          redis.call('ZREM', await_key, d .. '|' .. f[8])
          redis.call('ZREM', 'hilo:{q:' .. skill .. '}:resolve', d .. '|' .. f[8])
        end
        -- An offer made before it left (the caller hung up meanwhile): taken back from the agent.
        if f[2] then offer_release(d, 'withdrawn', now) end
      end
      event('queue', '', d)
    else
      if not f[7] then
        redis.call('HSET', ck, 'esc_counted', '1')
        redis.call('HINCRBY', 'hilo:stats:' .. day, 'esc:' .. (f[6] or 'unknown'), 1)
        redis.call('HINCRBY', 'hilo:stats:' .. day, 'escq:' .. skill, 1) -- reports (console/reports.c)
        local esc = tonumber(f[8] or '')
        if esc then
          redis.call('HSET', ck, 'res_q', skill)
          redis.call('ZADD', 'hilo:{q:' .. skill .. '}:resolve', esc + res_target(skill), d .. '|' .. f[8])
        end
        if esc and not (tonumber(f[9] or '') and tonumber(f[9]) >= esc) then
          redis.call('HSET', ck, 'sla_q', skill)
          redis.call('ZADD', await_key, esc + first_target(skill), d .. '|' .. f[8])
        end
      end
    end
    if f[1] == 'queued' and here and not f[2] then
      local ch = f[4] or 'whatsapp'
      local declined = f[5] or ''
      local function passed(a) return string.find(declined, a .. ',', 1, true) ~= nil end
      local best = nil
      if f[3] and not passed(f[3]) and free(agent(f[3]), ch) then
        best = agent(f[3])
      else
        -- Candidates in the index's order (least loaded, then offered longest ago); each one is
        -- checked, and an entry found out of date is refreshed and skipped.
        local any_passed = false
        local key = 'hilo:free:' .. skill .. ':' .. ch
        local from = 0
        while not best do
          local page = redis.call('ZRANGE', key, from, from + 49)
          if #page == 0 then break end
          for _, a in ipairs(page) do
            local c = agent(a)
            if redis.call('SISMEMBER', 'hilo:skill:' .. skill, a) == 0 then
              -- The skill was taken away: out of this index for good. (Removed entries shift
              -- the next page back by one.)
              redis.call('ZREM', key, a)
              from = from - 1
            elseif not free(c, ch) then
              agent_index_refresh(a)
              if not redis.call('ZSCORE', key, a) then from = from - 1 end
            elseif passed(a) then
              any_passed = true
            else
              best = c
              break
            end
          end
          from = from + 50
        end
        -- Everyone who could take it has passed: the round starts again once the cooldown has
        -- run (declined_until, set now), so a decline does not come straight back.
        if not best and any_passed then
          local until_ms = tonumber(redis.call('HGET', ck, 'declined_until') or '')
          if not until_ms then
            redis.call('HSET', ck, 'declined_until', now + cooldown)
          elseif now >= until_ms then
            redis.call('HDEL', ck, 'declined', 'declined_until')
          end
        end
      end
      if best then
        best.load[ch] = best.load[ch] + 1
        best.total = best.total + 1
        best.last = now
        best.offers = best.offers + 1
        redis.call('HINCRBY', live_key(best.id), 'load:' .. ch, 1)
        redis.call('HSET', live_key(best.id), 'last_offer_ms', now)
        agent_index_refresh(best.id)
        redis.call('HSET', ck, 'offer_agent', best.id, 'offer_ch', ch, 'offer_ms', now,
                   'offer_deadline', now + timeout)
        conv_rev_bump(ck)
        redis.call('SADD', 'hilo:agent:' .. best.id .. ':offers', d)
        redis.call('ZADD', 'hilo:offers', now + timeout, d)
        audit(d, 'offered', {agent = best.id, channel = ch, ms = now})
        redis.call('HINCRBY', 'hilo:stats:' .. day, 'offered:' .. skill, 1)
        event('offer', best.id, d)
        offers = offers + 1
      end
    end
  end
end
-- 4. a slice of the agents, round-robin: their index entries from their current records
do
  local scan = redis.call('SSCAN', 'hilo:agents', redis.call('GET', 'hilo:free:cursor') or '0', 'COUNT', ARGV[6])
  redis.call('SET', 'hilo:free:cursor', scan[1])
  for _, a in ipairs(scan[2]) do agent_index_refresh(a) end
end
return offers
