-- agent_ops.lua — what an agent or a supervisor does to a conversation or an agent's state,
-- each as one atomic step (router/src/console/routing.c): accept or decline an offer,
-- transfer to an agent or a queue (a supervisor's reassign is the same), a supervisor's
-- take-over, wrap-up with a disposition, close, cancel or edit a promise in the ledger, set an agent's
-- availability, take an agent out of routing when they
-- leave (op leave: logout, a session's end, revocation). The conv field `rev` is bumped on every
-- change so an engine turn in flight re-reads the conversation (engine_apply.lua).
-- KEYS: none declared (agent keys are global; single Redis, see docs/architecture.md).
-- ARGV[1] op  ARGV[2] actor id  ARGV[3] actor role (agent|supervisor)  ARGV[4] debtor id ("" for
-- op state)  ARGV[5] now (Unix ms)  ARGV[6] op arguments (JSON object)  ARGV[7] accept timeout
-- (ms)  ARGV[8] the business day of the stats clock (the day counters' key suffix,
-- router/src/console/sla_mark.c)  ARGV[9] the one clock (Unix ms: the test clock under [engine]
-- test_clock, docs/architecture.md "One clock"): what the ledger's checks and stamps read (a due
-- day or a call-back already past, a promise's creation, edit and cancellation); offers and
-- presence keep ARGV[5], the router's, as the route sweep does (console/routing.c)
-- Returns {1, "ok"} or {0, error code[, detail]} (codes and details: docs/console-protocol.md;
-- router/src/console/routing.c puts them in words).
local op, actor, role, d = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now = tonumber(ARGV[5])
local args = cjson.decode(ARGV[6])
local timeout = tonumber(ARGV[7])
local day = ARGV[8]
local clock = tonumber(ARGV[9] or '') or now
local sup = role == 'supervisor'

local function live_key(a) return 'hilo:agent:' .. a .. ':live' end
-- @include agent_index.lua
-- @include conv_rev.lua
-- @include agent_leave.lua
-- @include strategy_state.lua
-- @include ledger.lua
local function event(kind, a, deb)
  redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', kind, 'a', a or '', 'd', deb or '')
end
local function str(v) if type(v) == 'string' then return v end return nil end

if op == 'state' then
  local target = str(args.agent) or actor
  if target ~= actor and not sup then return {0, 'forbidden'} end
  local st = str(args.state)
  if st ~= 'available' and st ~= 'away' then return {0, 'bad_request'} end
  if redis.call('EXISTS', 'hilo:agent:' .. target) == 0 then return {0, 'unknown_agent'} end
  redis.call('HSET', live_key(target), 'state', st, 'state_ms', now)
  if st == 'available' then
    redis.call('SADD', 'hilo:agents:available', target)
  else
    redis.call('SREM', 'hilo:agents:available', target)
  end
  agent_index_refresh(target)
  event('agent', target, '')
  return {1, 'ok'}
end

-- The agent leaves (ARGV[6]: {"session": the hash of the session that ended, "" for all,
-- "why": logout|session_end|revoked}): out of routing at once, their offers to others, unless
-- another session of theirs is still valid (a second console still open takes offers).
if op == 'leave' then
  if redis.call('EXISTS', 'hilo:agent:' .. actor) == 0 then return {0, 'unknown_agent'} end
  local ended = str(args.session) or ''
  for _, s in ipairs(redis.call('SMEMBERS', 'hilo:agent:' .. actor .. ':sessions')) do
    if s ~= ended and redis.call('EXISTS', 'hilo:session:' .. s) == 1 then return {1, 'kept'} end
  end
  agent_leave(actor, str(args.why) or 'agent_left', now)
  return {1, 'ok'}
end

local ck = 'hilo:{d:' .. d .. '}:conv'
local audit_key = 'hilo:{d:' .. d .. '}:audit'
local function audit(ev, j)
  j.by = actor
  j.ms = now
  redis.call('XADD', audit_key, '*', 'ev', ev, 'j', cjson.encode(j))
end
local c = {}
do
  local l = redis.call('HGETALL', ck)
  if #l == 0 then return {0, 'not_found'} end
  for i = 1, #l, 2 do c[l[i]] = l[i + 1] end
end
local function touch() conv_rev_bump(ck); redis.call('HSET', ck, 'updated_ms', now) end

local function give_back(a, ch)
  if tonumber(redis.call('HINCRBY', live_key(a), 'load:' .. ch, -1)) < 0 then
    redis.call('HSET', live_key(a), 'load:' .. ch, 0)
  end
  agent_index_refresh(a)
end
-- Drops the pending offer (if any); `passed` remembers the agent so routing tries another.
local function drop_offer(passed)
  local a = c.offer_agent
  redis.call('ZREM', 'hilo:offers', d)
  if not a then return end
  give_back(a, c.offer_ch or 'whatsapp')
  redis.call('SREM', 'hilo:agent:' .. a .. ':offers', d)
  redis.call('HDEL', ck, 'offer_agent', 'offer_ch', 'offer_deadline', 'offer_ms')
  if passed then redis.call('HSET', ck, 'declined', (c.declined or '') .. a .. ',') end
  event('offer_gone', a, d)
  c.offer_agent = nil
end
-- Withdraws another conversation's pending offer to agent a (a reassign needs the slot): the
-- capacity is given back, a is remembered as having passed, routing offers it to someone else.
local function withdraw_offer(od, a)
  local ok = 'hilo:{d:' .. od .. '}:conv'
  local och = redis.call('HGET', ok, 'offer_ch') or 'whatsapp'
  redis.call('ZREM', 'hilo:offers', od)
  redis.call('SREM', 'hilo:agent:' .. a .. ':offers', od)
  redis.call('HDEL', ok, 'offer_agent', 'offer_ch', 'offer_deadline', 'offer_ms')
  redis.call('HSET', ok, 'declined', (redis.call('HGET', ok, 'declined') or '') .. a .. ',')
  conv_rev_bump(ok)
  give_back(a, och)
  redis.call('XADD', 'hilo:{d:' .. od .. '}:audit', '*', 'ev', 'offer_withdrawn',
             'j', cjson.encode({agent = a, ms = now, by = actor, reason = 'reassign'}))
  event('offer_gone', a, od)
end
-- Drops the assignment (if any): the agent's capacity is given back.
local function drop_assignment()
  local a = c.agent
  if not a then return end
  give_back(a, c.agent_ch or 'whatsapp')
  redis.call('SREM', 'hilo:agent:' .. a .. ':convs', d)
  redis.call('HDEL', ck, 'agent', 'agent_ch', 'assigned_ms')
  event('unassigned', a, d)
  c.agent = nil
end
local function enqueue(skill)
  local prio = tonumber(c.esc_priority or '0') or 0
  redis.call('HSET', ck, 'state', 'queued', 'queue', skill, 'esc_skill', skill)
  strat_hold(ck, 'agent') -- a person takes over: no automated contact meanwhile
  if not c.esc_ms then redis.call('HSET', ck, 'esc_ms', now) end
  redis.call('ZADD', 'hilo:queue:' .. skill, now - prio * 60000, d)
  redis.call('SADD', 'hilo:queues', skill)
  event('queue', '', d)
end

if op == 'accept' then
  if c.offer_agent ~= actor or c.state ~= 'queued' then return {0, 'not_offered'} end
  local ch = c.offer_ch or 'whatsapp'
  -- A caller on the line (docs/architecture.md, "Voice in the console"): accepting connects the
  -- call to the agent's phone, so it needs that phone and a voice connector that takes call
  -- orders (protocol 1.4; the router says so in args.call_link, never the browser). Refused
  -- before anything changes: the offer stays.
  local call
  if ch == 'voice' and (c.call_live or '') ~= '' then
    local phone = redis.call('HGET', 'hilo:agent:' .. actor, 'phone')
    if not phone or phone == '' then return {0, 'no_phone'} end
    if args.call_link ~= true then return {0, 'no_call_connector'} end
    call = {call = c.call_live, caller = c.call_from or '', phone = phone, queue = c.queue or ''}
  end
  redis.call('ZREM', 'hilo:offers', d)
  redis.call('SREM', 'hilo:agent:' .. actor .. ':offers', d)
  redis.call('SADD', 'hilo:agent:' .. actor .. ':convs', d)
  if c.queue then redis.call('ZREM', 'hilo:queue:' .. c.queue, d) end
  redis.call('HDEL', ck, 'offer_agent', 'offer_ch', 'offer_deadline', 'offer_ms', 'declined', 'declined_until')
  strat_hold(ck, 'agent')
  redis.call('HSET', ck, 'state', 'assigned', 'agent', actor, 'agent_ch', ch, 'last_agent', actor,
             'assigned_ms', now)
  local wait = now - (tonumber(c.esc_ms or now) or now)
  local q = c.queue or ''
  redis.call('HINCRBY', 'hilo:stats:' .. day, 'answered:' .. q, 1)
  redis.call('HINCRBY', 'hilo:stats:' .. day, 'a:' .. actor .. ':answered', 1) -- reports (console/reports.c)
  touch()
  audit('assigned', {agent = actor, channel = ch, wait_ms = wait})
  event('assigned', actor, d)
  if call then
    audit('call_connecting', {agent = actor, call = call.call})
    return {1, 'ok', cjson.encode(call)}
  end
  return {1, 'ok'}
end

-- The agent's phone did not answer a caller it was connected to (the engine saw the call event
-- AGENT_NO_ANSWER; ARGV[6] {"call": the call's id}): the caller is waiting in the provider's
-- queue again, so the conversation is queued again, its capacity given back, and that agent is
-- remembered as having passed (routing offers it to someone else). Only while that call is
-- still live and the conversation still the agent's: a late event changes nothing. Once per
-- engine turn (args.turn, kept in `unanswered_turn`): the engine runs this before it applies the
-- turn that recorded the event (router/src/calls.h), and a turn resumed after a crash in between
-- must not take the call from the next agent who accepted it meanwhile.
if op == 'call_unanswered' then
  local a = c.agent
  if str(args.turn) and c.unanswered_turn == args.turn then return {1, 'done'} end
  if c.state ~= 'assigned' or not a or (c.call_live or '') == '' or c.call_live ~= str(args.call) then
    return {0, 'not_assigned'}
  end
  -- Told first, before the generic `unassigned`: the agent's console says why it went
  -- (router/src/console/takeover.c, notice "You did not answer the call from ...").
  redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', 'call_unanswered', 'a', a, 'd', d,
             'by', 'router', 'n', redis.call('HGET', 'hilo:{d:' .. d .. '}:debtor', 'full_name') or c.call_from or d)
  drop_assignment()
  redis.call('HSET', ck, 'declined', (c.declined or '') .. a .. ',')
  if str(args.turn) then redis.call('HSET', ck, 'unanswered_turn', args.turn) end
  enqueue(c.queue or c.esc_skill or 'agents')
  touch()
  audit('agent_no_answer', {agent = a, call = c.call_live})
  return {1, 'ok'}
end

-- A connect order failed (its FAILED report, router/src/calls.c; ARGV[6] {"call", "order" (its
-- outbound id), "order_ms" (when sent), "code" (the provider's error)}): the agent's phone was
-- never rung. Only for the assignment that order was sent for (not older than it), once per
-- order. The call over (the provider says so: 21220 not in progress, 20404 no such call; or its
-- end is recorded already, call_live ""), the caller has gone: the conversation leaves the agent
-- (no voice slot held for a call that is not there) and is open, as when a caller hangs up while
-- waiting. The call still live (a provider error), the caller waits in the provider's queue:
-- the conversation is queued again (that agent not held as having passed). Either way an item
-- in the thread says so (voice event connect_failed).
if op == 'call_connect_failed' then
  local a, call = c.agent, str(args.call) or ''
  if c.connect_failed == str(args.order) then return {1, 'done'} end
  if c.state ~= 'assigned' or not a or c.agent_ch ~= 'voice' or call == '' or
     (tonumber(args.order_ms) or 0) < (tonumber(c.assigned_ms or '0') or 0) then
    return {0, 'not_assigned'}
  end
  local code = str(args.code) or ''
  local ended = (c.call_live or '') ~= call or code == '21220' or code == '20404'
  drop_assignment()
  redis.call('HSET', ck, 'connect_failed', str(args.order) or '')
  if ended then
    redis.call('HSET', ck, 'state', 'open', 'call_live', '')
    redis.call('ZREM', 'hilo:queue:' .. (c.queue or c.esc_skill or 'agents'), d)
  else
    enqueue(c.queue or c.esc_skill or 'agents')
  end
  local item = {ch = 'voice', dir = 'in', kind = 'voice', sent_ms = now, recv_ms = now,
                voice = {event = 'connect_failed', call_id = call, status = code, requeued = not ended}}
  redis.call('XADD', 'hilo:{d:' .. d .. '}:hist', '*', 'j', cjson.encode(item))
  touch()
  audit('call_connect_failed', {agent = a, call = call, code = code, requeued = not ended})
  return {1, ended and 'ended' or 'requeued'}
end

if op == 'decline' then
  if c.offer_agent ~= actor then return {0, 'not_offered'} end
  drop_offer(true)
  touch()
  audit('offer_declined', {agent = actor})
  return {1, 'ok'}
end

if op == 'transfer' then
  if c.agent ~= actor and not sup then return {0, 'not_assigned'} end
  local to_agent, to_queue = str(args.to_agent), str(args.to_queue)
  if to_agent then
    local acc = redis.call('HMGET', 'hilo:agent:' .. to_agent, 'role', 'disabled')
    if not acc[1] or acc[2] == '1' then return {0, 'unknown_agent'} end
    local ch = c.agent_ch or c.offer_ch or c.last_channel or 'whatsapp'
    local cap = tonumber(redis.call('HGET', 'hilo:agent:' .. to_agent, 'cap:' .. ch) or '0') or 0
    local load = tonumber(redis.call('HGET', live_key(to_agent), 'load:' .. ch) or '0') or 0
    if to_agent == c.agent then return {0, 'same_agent'} end
    -- Pending offers give way to a supervisor's reassign: the agent's slots held only by offers
    -- (on this channel, newest first) are withdrawn and routed to someone else. Assignments
    -- never give way: with those filling the capacity the answer is no_capacity, and nothing
    -- was withdrawn.
    local withdraw = {}
    if load >= cap and sup then
      local held = {}
      for _, od in ipairs(redis.call('SMEMBERS', 'hilo:agent:' .. to_agent .. ':offers')) do
        local f = redis.call('HMGET', 'hilo:{d:' .. od .. '}:conv', 'offer_agent', 'offer_ch', 'offer_ms')
        if od ~= d and f[1] == to_agent and (f[2] or 'whatsapp') == ch then
          held[#held + 1] = {d = od, ms = tonumber(f[3] or '0') or 0}
        end
      end
      table.sort(held, function(x, y) if x.ms ~= y.ms then return x.ms > y.ms end return x.d > y.d end)
      local i = 1
      while load - #withdraw >= cap and held[i] do withdraw[#withdraw + 1] = held[i].d; i = i + 1 end
    end
    -- (an offer of this very conversation to that agent is dropped below, freeing its slot)
    local own = c.offer_agent == to_agent and (c.offer_ch or 'whatsapp') == ch and 1 or 0
    if load - #withdraw - own >= cap then return {0, 'no_capacity'} end
    for _, od in ipairs(withdraw) do withdraw_offer(od, to_agent) end
    drop_offer(false)
    drop_assignment()
    enqueue(c.queue or c.esc_skill or 'transfer')
    -- Offered to that agent directly; if the offer times out, routing takes over.
    redis.call('HINCRBY', live_key(to_agent), 'load:' .. ch, 1)
    agent_index_refresh(to_agent)
    redis.call('HSET', ck, 'offer_agent', to_agent, 'offer_ch', ch, 'offer_ms', now,
               'offer_deadline', now + timeout)
    redis.call('HDEL', ck, 'declined', 'declined_until')
    redis.call('SADD', 'hilo:agent:' .. to_agent .. ':offers', d)
    redis.call('ZADD', 'hilo:offers', now + timeout, d)
    touch()
    audit('transferred', {to_agent = to_agent})
    event('offer', to_agent, d)
    return {1, 'ok'}
  elseif to_queue and string.match(to_queue, '^[%w._-]+$') then
    -- A queue is served when an enabled account has its skill (logged in or not: a queue whose
    -- agents are off shift still gets them back). Else the conversation would wait for nobody.
    local served = false
    for _, a in ipairs(redis.call('SMEMBERS', 'hilo:skill:' .. to_queue)) do
      local acc = redis.call('HMGET', 'hilo:agent:' .. a, 'role', 'disabled')
      if acc[1] and acc[2] ~= '1' then served = true break end
    end
    if not served then return {0, 'queue_unserved', to_queue} end
    drop_offer(false)
    drop_assignment()
    redis.call('HDEL', ck, 'last_agent', 'declined', 'declined_until') -- no stickiness back to the sender
    enqueue(to_queue)
    touch()
    audit('transferred', {to_queue = to_queue})
    return {1, 'ok'}
  end
  return {0, 'bad_request'}
end

-- A supervisor takes the conversation over (docs/console-protocol.md, "Take over"): assigned to
-- an agent, offered to one, or waiting in a queue, it becomes assigned to the supervisor, who
-- replies and wraps up like an agent. Supervisors are not capacity-limited here (a take-over is
-- never refused for load), but it counts in their load like any assignment, so routing offers
-- them nothing more while it holds their slots, and the wrap-up gives it back. The agent who had
-- it (or its offer) gets a `taken` event naming the supervisor; the step is audited.
if op == 'takeover' then
  if not sup then return {0, 'forbidden'} end
  if c.agent == actor and c.state == 'assigned' then return {0, 'same_agent'} end
  if c.state ~= 'assigned' and c.state ~= 'queued' then return {0, 'not_takeable', c.state or ''} end
  local from, from_state = c.agent or c.offer_agent, c.agent and 'assigned' or (c.offer_agent and 'offered' or 'queued')
  local ch = c.agent_ch or c.offer_ch or c.last_channel or 'whatsapp'
  drop_offer(false)
  drop_assignment()
  if c.queue then redis.call('ZREM', 'hilo:queue:' .. c.queue, d) end
  if from_state ~= 'assigned' then
    redis.call('HINCRBY', 'hilo:stats:' .. day, 'answered:' .. (c.queue or ''), 1)
  end
  strat_hold(ck, 'agent')
  redis.call('HINCRBY', live_key(actor), 'load:' .. ch, 1)
  agent_index_refresh(actor)
  redis.call('SADD', 'hilo:agent:' .. actor .. ':convs', d)
  redis.call('HDEL', ck, 'declined', 'declined_until')
  redis.call('HSET', ck, 'state', 'assigned', 'agent', actor, 'agent_ch', ch, 'last_agent', actor,
             'assigned_ms', now, 'taken_by', actor, 'taken_ms', now)
  touch()
  audit('taken_over', {from_agent = from or '', from_state = from_state, channel = ch})
  if from and from ~= actor then
    local name = redis.call('HGET', 'hilo:agent:' .. actor, 'name') or actor
    redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', 'taken', 'a', from, 'd', d,
               'by', actor, 'n', name)
  end
  event('assigned', actor, d)
  return {1, 'ok'}
end

-- A supervisor lifts a dispute or hardship hold (the debtor's strategies may contact them again:
-- the runner looks at the debtor on its next pass).
if op == 'lift_hold' then
  if not sup then return {0, 'forbidden'} end
  local kind = str(args.kind)
  if kind ~= 'dispute' and kind ~= 'hardship' then return {0, 'bad_request'} end
  if not c[kind .. '_ms'] then return {0, 'no_hold'} end
  redis.call('HDEL', ck, kind .. '_ms')
  touch()
  audit('hold_lifted', {kind = kind, since = tonumber(c[kind .. '_ms'])})
  event('conv', c.agent or '', d)
  return {1, 'ok'}
end

-- A promise or plan in the ledger, changed from the console (docs/promises.md, "From the
-- console"): cancel a pending promise or a plan (its instalments not yet kept), or edit a pending
-- promise's amount and due day. The assigned agent or a supervisor. A cancelled promise commits
-- nothing and stops no strategy (hilo/strategy.h counts pending ones only); the router then asks
-- the strategy runners to look at the debtor again (console/routing.c).
if op == 'promise_cancel' or op == 'promise_edit' or op == 'promise_plan' then
  if not sup and (c.agent ~= actor or c.state ~= 'assigned') then return {0, 'not_assigned'} end
  local pk = 'hilo:{d:' .. d .. '}:promises'
  if op == 'promise_plan' then
    -- The entries come from the router (console/promise_plan.c, the bot's ledger code), never
    -- from the client: the plan and its instalments, their due index members, the audit entry.
    local e = type(args.effects) == 'table' and args.effects or {}
    local plan_id, total, first_due_ms = nil, 0, nil
    for id, raw in pairs(type(e.promises) == 'table' and e.promises or {}) do
      local p = cjson.decode(raw)
      if p.kind == 'plan' then plan_id = id else total = total + p.amount_cents end
      if p.due_ms and (not first_due_ms or p.due_ms < first_due_ms) then first_due_ms = p.due_ms end
    end
    if not plan_id or not first_due_ms then return {0, 'bad_promise', 'due'} end
    if first_due_ms <= clock then return {0, 'bad_promise', 'due_past'} end
    local dk = 'hilo:{d:' .. d .. '}:debtor'
    local balance = tonumber(redis.call('HGET', dk, 'balance') or '')
    if balance then
      local open = math.floor(balance * 100 + 0.5) - ledger_committed(pk, redis.call('HGET', dk, 'currency') or '')
      if total > open then return {0, 'over_committed'} end
    end
    for id, raw in pairs(e.promises) do
      local p = cjson.decode(raw)
      p.by = 'agent:' .. actor
      redis.call('HSET', pk, id, cjson.encode(p))
    end
    for id, due_ms in pairs(type(e.due) == 'table' and e.due or {}) do
      redis.call('ZADD', 'hilo:promises:due', tonumber(due_ms), d .. '|' .. id)
    end
    for _, a in ipairs(type(e.audit) == 'table' and e.audit or {}) do
      local j = cjson.decode(a.j)
      j.reason = str(args.comment) or ''
      audit(a.ev, j)
    end
    touch()
    event('conv', c.agent or '', d)
    return {1, 'ok'}
  end
  local id = str(args.promise)
  local raw = id and redis.call('HGET', pk, id)
  local ok, p = pcall(cjson.decode, raw or '')
  if not raw or not ok or type(p) ~= 'table' then return {0, 'bad_promise', 'unknown'} end
  if p.plan then return {0, 'bad_promise', 'instalment'} end
  local reason = str(args.comment) or ''
  if op == 'promise_cancel' then
    if p.kind == 'plan' then
      if p.state == 'kept' or p.state == 'cancelled' then return {0, 'bad_promise', 'not_pending'} end
      local cancelled = {}
      for _, iid in ipairs(type(p.instalment_ids) == 'table' and p.instalment_ids or {}) do
        local ok2, q = pcall(cjson.decode, redis.call('HGET', pk, iid) or '')
        if ok2 and type(q) == 'table' and (q.state == 'pending' or q.state == 'broken') then
          q.state, q.cancelled_ms, q.cancelled_by = 'cancelled', clock, actor
          redis.call('HSET', pk, iid, cjson.encode(q))
          redis.call('ZREM', 'hilo:promises:due', d .. '|' .. iid)
          cancelled[#cancelled + 1] = iid
        end
      end
      local was = p.state
      p.state, p.cancelled_ms, p.cancelled_by, p.cancel_reason = 'cancelled', clock, actor, reason
      redis.call('HSET', pk, id, cjson.encode(p))
      audit('plan_cancelled', {id = id, was = was, instalments_cancelled = cancelled, reason = reason})
    else
      if p.state ~= 'pending' then return {0, 'bad_promise', 'not_pending'} end
      p.state, p.cancelled_ms, p.cancelled_by, p.cancel_reason = 'cancelled', clock, actor, reason
      redis.call('HSET', pk, id, cjson.encode(p))
      redis.call('ZREM', 'hilo:promises:due', d .. '|' .. id)
      audit('promise_cancelled', {id = id, amount_cents = p.amount_cents, currency = p.currency, due = p.due,
        reason = reason})
    end
  else
    if p.kind ~= 'promise' then return {0, 'bad_promise', 'instalment'} end
    if p.state ~= 'pending' then return {0, 'bad_promise', 'not_pending'} end
    local amount = args.amount_cents == nil and p.amount_cents or tonumber(args.amount_cents)
    if not amount or amount <= 0 or amount ~= math.floor(amount) or amount >= 2 ^ 53 then
      return {0, 'bad_promise', 'amount'}
    end
    local due, due_ms = p.due, p.due_ms
    if args.due ~= nil then
      due, due_ms = str(args.due), tonumber(args.due_ms) -- due_ms: the day's end where the debtor lives
      if not due or not string.match(due, '^%d%d%d%d%-%d%d%-%d%d$') or not due_ms or due_ms ~= math.floor(due_ms) then
        return {0, 'bad_promise', 'due'}
      end
      if due_ms <= clock then return {0, 'bad_promise', 'due_past'} end
    end
    if type(due_ms) ~= 'number' then return {0, 'bad_promise', 'due'} end
    if amount == p.amount_cents and due == p.due then return {0, 'bad_promise', 'unchanged'} end
    -- The open balance, without this promise's own amount (docs/promises.md).
    local balance = tonumber(redis.call('HGET', 'hilo:{d:' .. d .. '}:debtor', 'balance') or '')
    if balance and amount > p.amount_cents then
      local open = math.floor(balance * 100 + 0.5) - ledger_committed(pk, p.currency) + p.amount_cents
      if amount > open then return {0, 'over_committed'} end
    end
    local was = {amount_cents = p.amount_cents, due = p.due}
    p.amount_cents, p.due, p.due_ms, p.edited_ms, p.edited_by = amount, due, due_ms, clock, actor
    redis.call('HSET', pk, id, cjson.encode(p))
    redis.call('ZADD', 'hilo:promises:due', due_ms, d .. '|' .. id)
    audit('promise_edited', {id = id, was = was, amount_cents = amount, currency = p.currency, due = due,
      reason = reason})
  end
  touch()
  event('conv', c.agent or '', d)
  return {1, 'ok'}
end

if op == 'wrapup' or op == 'close' then
  if c.agent ~= actor and not sup then return {0, 'not_assigned'} end
  if c.state ~= 'assigned' then return {0, 'not_assigned'} end
  if op == 'wrapup' then
    local code = str(args.code)
    local codes = {promise_to_pay = true, refused = true, dispute = true, hardship = true, wrong_party = true,
                   callback = true, paid = true, other = true}
    if not code or not codes[code] then return {0, 'bad_disposition'} end
    local disp = {code = code, agent = c.agent, ms = now, comment = str(args.comment) or ''}
    if code == 'promise_to_pay' then
      local amount = tonumber(args.amount_cents)
      local due = str(args.due)
      local due_ms = tonumber(args.due_ms) -- the end of that day where the debtor lives (console/routing.c)
      if not amount or amount <= 0 or amount ~= math.floor(amount) or amount >= 2 ^ 53 then
        return {0, 'bad_promise', 'amount'}
      end
      if not due or not string.match(due, '^%d%d%d%d%-%d%d%-%d%d$') or not due_ms or due_ms ~= math.floor(due_ms) then
        return {0, 'bad_promise', 'due'}
      end
      -- Due at the end of that day where the debtor lives: a day already over there is refused
      -- (today is still allowed).
      if due_ms <= clock then return {0, 'bad_promise', 'due_past'} end
      disp.amount_cents = amount
      disp.due = due
      local dk = 'hilo:{d:' .. d .. '}:debtor'
      local pk = 'hilo:{d:' .. d .. '}:promises'
      local cur = redis.call('HGET', dk, 'currency') or ''
      -- Commitments never exceed what is owed: the balance less the pending promises (the bot's,
      -- a plan's instalments, other agents'), in the balance's currency (docs/promises.md).
      local balance = tonumber(redis.call('HGET', dk, 'balance') or '')
      if balance then
        local open = math.floor(balance * 100 + 0.5) - ledger_committed(pk, cur)
        if amount > open then return {0, 'over_committed'} end
      end
      local id = 'p' .. clock .. '-' .. actor
      local p = {kind = 'promise', amount_cents = amount, currency = cur, due = due, due_ms = due_ms,
        channel = c.agent_ch or '', created_ms = clock, state = 'pending', by = 'agent:' .. actor}
      redis.call('HSET', pk, id, cjson.encode(p))
      -- Settled like the bot's promises: payments keep it, the sweeper breaks it once due.
      redis.call('ZADD', 'hilo:promises:due', due_ms, d .. '|' .. id)
      p.id = id
      audit('promise', p)
    elseif code == 'callback' then
      local at = tonumber(args.callback_ms)
      if not at then return {0, 'bad_callback', 'missing'} end
      if at <= clock then return {0, 'bad_callback', 'past'} end
      disp.callback_ms = at
      -- Set by the router only (console/routing.c): the debtor's wall-clock time and zone.
      disp.callback_at = str(args.callback_at)
      disp.callback_tz = str(args.callback_tz)
      redis.call('HSET', ck, 'callback_ms', at)
    elseif code == 'dispute' or code == 'hardship' then
      -- A hold: the sticky field stops every outbound strategy for this debtor (hilo/strategy.h,
      -- docs/strategies.md "Stops") until a supervisor lifts it (op lift_hold); a step already
      -- committed is held in this same step.
      redis.call('HSET', ck, code .. '_ms', now)
      strat_hold(ck, 'agent')
    end
    redis.call('HSET', ck, 'disposition', cjson.encode(disp), 'disposition_ms', now)
    redis.call('HINCRBY', 'hilo:stats:' .. day, 'disp:' .. code, 1) -- reports (console/reports.c)
    redis.call('HINCRBY', 'hilo:stats:' .. day, 'a:' .. c.agent .. ':disp:' .. code, 1)
    audit('disposition', disp)
    c.disposition_ms = tostring(now)
    if args.close ~= true then
      touch()
      event('conv', c.agent, d)
      return {1, 'ok'}
    end
  end
  if (tonumber(c.disposition_ms or '0') or 0) < (tonumber(c.assigned_ms or '0') or 0) then
    return {0, 'disposition_required'}
  end
  local a = c.agent
  drop_assignment()
  if c.queue then redis.call('ZREM', 'hilo:queue:' .. c.queue, d) end
  -- closed_in: how many inbound messages the conversation had when it closed, so reopen.lua
  -- tells a later message from an earlier one by count, not by clock (a message may commit in
  -- the same millisecond as the close, or on another router whose clock differs).
  redis.call('HSET', ck, 'state', 'closed', 'closed_ms', now, 'closed_in', c.msgs_in or '0')
  redis.call('ZADD', 'hilo:closed', now, d) -- reopen.lua: the debtor's next message reopens it
  -- The agent's "Closed" list (router/src/console/notice.c): their newest 200.
  redis.call('ZADD', 'hilo:{a:' .. a .. '}:closed', now, d)
  redis.call('ZREMRANGEBYRANK', 'hilo:{a:' .. a .. '}:closed', 0, -201)
  redis.call('HDEL', ck, 'esc_counted', 'declined', 'declined_until')
  redis.call('HINCRBY', live_key(a), 'handled:' .. day, 1)
  redis.call('HINCRBY', 'hilo:stats:' .. day, 'closed:' .. (c.queue or ''), 1) -- reports (console/reports.c)
  redis.call('HINCRBY', 'hilo:stats:' .. day, 'a:' .. a .. ':closed', 1)
  touch()
  audit('closed', {agent = a})
  event('closed', a, d)
  return {1, 'ok'}
end

return {0, 'bad_request'}
