-- outbound_handoff.lua — the gate at hand-off: one debtor's queue of outbound messages on one
-- channel, atomically on the debtor's own keys (one hash slot; docs/architecture.md, "Outbound").
-- KEYS[1] hilo:{d:ID}:conv   KEYS[2] hilo:{d:ID}:debtor   KEYS[3] hilo:{d:ID}:out
-- KEYS[4] hilo:{d:ID}:oq:<ch>   KEYS[5] hilo:{d:ID}:odisp   KEYS[6] hilo:{d:ID}:contacts:<ch>
-- KEYS[7] hilo:{d:ID}:ostat   KEYS[8] hilo:{d:ID}:audit
-- ARGV[1] operation   ARGV[2] now (Unix ms, the router's clock: leases and due times)
-- ARGV[3] channel name   ARGV[4] outbound id (all but peek)
--
-- Only the first message of the queue (the head) is ever handed to a connector: n+1 waits while
-- n is with a connector (leased) or waiting to be retried. The gate's decision is made by the
-- router in C on the facts that 'peek' returns; 'take' and 'cancel' apply it only if those facts
-- are still the same (else {'changed'}: the router reads and decides again).
--
-- 'peek' -> {'empty'} | {'leased', until} | {'wait', due} |
--           {'head', oid, payload, dispatch json, facts signature, fact values...} |
--           {'unknown', oid, strat, messages left}: the head's connector said CALLING for its
--           current attempt and its lease ran out without an outcome; it was settled as unknown
--           (below) instead of being handed off again, and the router looks again.
-- 'take' ARGV[5] facts signature  ARGV[6] lease ms  ARGV[7] token (unique per claim)
--        ARGV[8] gate's now  ARGV[9] cap window ms  ARGV[10] cap limit (0 = no cap)
--        ARGV[11] the connector's group (its key's name in link_keys; '' without link auth):
--        added to the message's `to`, the groups it was ever handed to (settle_outbound.lua)
--     -> {'ok', attempt, payload, parts sent} | {'capped', next ms} | {'changed'} | {'moved'} |
--        {'leased', until}.  The same token again returns 'ok' with the same attempt.
-- 'cancel' ARGV[5] facts signature ('' = none)  ARGV[6] state ('cancelled' or 'failed')
--        ARGV[7] reason code  ARGV[8] reason text
--     -> {'ok', messages left} | {'changed'} | {'moved'}
-- 'release' ARGV[5] due ms  ARGV[6] parts sent ('' = unchanged)  ARGV[7] attempt ('' = any)
--        ARGV[8] reason ('' = none): the message is back (returned by its connector, or waiting
--        for its window) and is looked at again at `due`.  ARGV[9] the returning connector's group
--        ('' = no check): one the message was never handed to gets {'forbidden'}.  ARGV[10] '1':
--        a wait for the gate's window (the sender asked for it): the give-up
--        ([router] outbound_give_up_ms, from the first try) counts again from the next try, so a
--        message tried before the window closed is not failed when it opens.
--        -> {'ok'} | {'gone'} | {'forbidden'}
-- 'calling' ARGV[5] attempt  ARGV[6] lease ms  ARGV[7] the reporting connector's group ('' = no
--        check): a connector is about to call the provider for this attempt (protocol 1.2,
--        at-most-once). Recorded as `calling` = attempt in the dispatch state, with a fresh lease,
--        only while the attempt is the current one and its lease holds.
--        -> {'ok', until} | {'gone'} (settled, cancelled, handed out again, or the lease ran out:
--        the connector must not call) | {'forbidden'}
-- 'unknown' ARGV[5] attempt ('' = any)  ARGV[6] group ('' = no check)  ARGV[7] error code
--        ARGV[8] error text: the connector called the provider and cannot tell whether it took
--        the message. -> {'unknown', oid, strat, messages left} | {'gone'} | {'forbidden'}
-- At most once: a message whose dispatch state has `calling` for its current attempt is never
-- handed off again. When its lease runs out ('peek'), or its connector reports UNKNOWN, it is
-- settled as `unknown` (status rank 4, like failed: it leaves the queue and the next message may
-- go; it stays counted against the frequency cap, since it may have been sent). A RETURNED
-- ('release') clears `calling`: the provider refused it, it was not sent.
-- A strategy's step (dispatch state `strat`) goes only while it is still the debtor's current
-- step (conv field `strat`, lib/strategy_state.lua): 'peek' cancels one an event has held or
-- stopped since its commit (reason strategy_stopped), 'take' answers {'changed'} for it.
-- Delivery reports settle messages with settle_outbound.lua.
-- @include contact_cap.lua
-- @include strategy_state.lua
local op, now, ch, oid = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
-- via:<ch>: our address the debtor last wrote to on the channel (the engine records it), which
-- replies go out from when connectors announce senders (protocol 1.3, docs/protocol.md §4.1).
-- talk:voice: the debtor's last phone conversation (the pause after it holds our next call).
local FACTS_CONV = {'dnc', 'optout:whatsapp', 'optout:sms', 'optout:voice',
                    'last_in:whatsapp', 'last_in:sms', 'last_in:voice', 'via:whatsapp', 'via:sms', 'via:voice',
                    'talk:voice'}
local FACTS_DEBTOR = {'country', 'timezone'}

local function facts()
  local v = redis.call('HMGET', KEYS[1], unpack(FACTS_CONV))
  local d = redis.call('HMGET', KEYS[2], unpack(FACTS_DEBTOR))
  for _, x in ipairs(d) do v[#v + 1] = x end
  for i = 1, #FACTS_CONV + #FACTS_DEBTOR do
    if not v[i] then v[i] = '' end
  end
  return v
end

local function head()
  local h = redis.call('ZRANGE', KEYS[4], 0, 0)
  return h[1]
end

local function disp_of(id)
  local j = redis.call('HGET', KEYS[5], id)
  if not j then return {} end
  return cjson.decode(j)
end

local function forget(id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end

local function ms(x) return string.format('%d', x) end

local function handed_to(d, group)
  for _, g in ipairs(d.to or {}) do
    if g == group then return true end
  end
  return false
end

-- Settles `id` as unknown: maybe sent, never sent again. Its status keeps "strat":1 for a
-- strategy's step (as settle_outbound.lua does), which the strategy runner reads.
local function settle_unknown(id, d, reason, code, text)
  forget(id)
  local st = {state = 'unknown', rank = 4, reason = reason, error = text, ms = now, attempts = d.att or 0}
  if code ~= '' then st.error_code = code end
  if (d.ps or 0) > 0 then st.parts_sent = d.ps end
  if d.strat then st.strat = 1 end
  redis.call('HSET', KEYS[7], id, cjson.encode(st))
  redis.call('XADD', KEYS[8], '*', 'ev', 'outbound_unknown', 'ch', ch, 'ref', id, 'reason', reason,
             'text', text, 'by', d.by or '', 'attempt', tostring(d.att or 0))
  return {'unknown', id, d.strat and 1 or 0, redis.call('ZCARD', KEYS[4])}
end

local function calling_now(d)
  return d.calling ~= nil and d.calling == (d.att or 0)
end

if op == 'peek' then
  for _ = 1, 100 do
    local id = head()
    if not id then return {'empty'} end
    local payload = redis.call('HGET', KEYS[3], id)
    if not payload then
      forget(id) -- settled or cancelled by an older router version: nothing to send
    else
      local d = disp_of(id)
      if calling_now(d) and (d['until'] or 0) <= now then
        -- Its connector may have called the provider, then died or went silent.
        return settle_unknown(id, d, 'connector_lost_during_call', '',
                              'the provider was called; no outcome was reported within the lease')
      end
      local current, why = true, ''
      if d.strat and (d['until'] or 0) <= now then current, why = strat_current(KEYS[1], id) end
      if not current then
        -- Not sent again: the strategy's step was held or stopped by an event since its commit.
        -- One handed out before, whose lease ran out unreported, may have been sent: it stays
        -- counted against the frequency cap (as in 'cancel').
        forget(id)
        local st = {state = 'cancelled', rank = 4, reason = 'strategy_stopped', error = why, ms = now,
                    attempts = d.att or 0}
        if d.tok ~= nil then st.maybe_sent = 1 else redis.call('ZREM', KEYS[6], id) end
        redis.call('HSET', KEYS[7], id, cjson.encode(st))
        redis.call('XADD', KEYS[8], '*', 'ev', 'outbound_cancelled', 'ch', ch, 'ref', id,
                   'reason', 'strategy_stopped', 'text', why, 'by', d.by or '')
      else
        if (d['until'] or 0) > now then return {'leased', ms(d['until'])} end
        if (d.due or 0) > now then return {'wait', ms(d.due)} end
        local f = facts()
        local r = {'head', id, payload, cjson.encode(d), table.concat(f, '\n')}
        for _, x in ipairs(f) do r[#r + 1] = x end
        return r
      end
    end
  end
  return {'empty'}
end

if op == 'release' then
  if not redis.call('HGET', KEYS[3], oid) then return {'gone'} end
  local d = disp_of(oid)
  if (ARGV[9] or '') ~= '' and not handed_to(d, ARGV[9]) then return {'forbidden'} end
  if ARGV[7] ~= '' and tonumber(ARGV[7]) ~= (d.att or 0) then return {'gone'} end
  d['until'] = 0
  d.tok = nil
  d.calling = nil -- returned: the provider did not take it
  d.due = tonumber(ARGV[5])
  if ARGV[6] ~= '' then d.ps = tonumber(ARGV[6]) end
  if ARGV[8] ~= '' then d.why = ARGV[8] end
  if ARGV[10] == '1' then d.first = nil end
  redis.call('HSET', KEYS[5], oid, cjson.encode(d))
  return {'ok'}
end

if op == 'calling' or op == 'unknown' then
  if not redis.call('HGET', KEYS[3], oid) then return {'gone'} end
  local d = disp_of(oid)
  local group = op == 'calling' and ARGV[7] or ARGV[6]
  if (group or '') ~= '' and not handed_to(d, group) then return {'forbidden'} end
  if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= (d.att or 0) then return {'gone'} end
  if op == 'unknown' then
    return settle_unknown(oid, d, 'provider_outcome_unknown', ARGV[7], ARGV[8])
  end
  if (d['until'] or 0) <= now then return {'gone'} end -- any router may hand it out again now
  d.calling = d.att
  d['until'] = now + tonumber(ARGV[6])
  redis.call('HSET', KEYS[5], oid, cjson.encode(d))
  return {'ok', ms(d['until'])}
end

if head() ~= oid then return {'moved'} end

if op == 'take' then
  local d = disp_of(oid)
  if (d['until'] or 0) > now then
    if d.tok == ARGV[7] then
      return {'ok', d.att, redis.call('HGET', KEYS[3], oid), d.ps or 0}
    end
    return {'leased', ms(d['until'])}
  end
  if table.concat(facts(), '\n') ~= ARGV[5] then return {'changed'} end
  if d.strat and not strat_current(KEYS[1], oid) then return {'changed'} end
  if calling_now(d) then return {'changed'} end -- never again: 'peek' settles it as unknown
  local limit = tonumber(ARGV[10])
  if limit > 0 then
    local c = contact_cap(KEYS[6], tonumber(ARGV[8]), tonumber(ARGV[9]), limit, oid)
    if c[1] == 0 then return {'capped', ms(c[3])} end
  end
  d.att = (d.att or 0) + 1
  d['until'] = now + tonumber(ARGV[6])
  d.tok = ARGV[7]
  d.due = nil
  d.why = nil
  d.calling = nil
  if not d.first then d.first = now end
  if (ARGV[11] or '') ~= '' and not handed_to(d, ARGV[11]) then
    d.to = d.to or {}
    d.to[#d.to + 1] = ARGV[11]
  end
  redis.call('HSET', KEYS[5], oid, cjson.encode(d))
  return {'ok', d.att, redis.call('HGET', KEYS[3], oid), d.ps or 0}
end

if op == 'cancel' then
  if ARGV[5] ~= '' and table.concat(facts(), '\n') ~= ARGV[5] then return {'changed'} end
  local d = disp_of(oid)
  forget(oid)
  -- Handed to a connector at its last attempt and neither given back nor reported since (the
  -- lease ran out, then the give-up came, or the gate now refuses): it may have reached the
  -- provider, so it stays counted against the frequency cap and its status says so. Otherwise
  -- it was never sent and does not count.
  local maybe_sent = d.tok ~= nil
  if not maybe_sent then redis.call('ZREM', KEYS[6], oid) end
  local st = {state = ARGV[6], rank = 4, reason = ARGV[7], error = ARGV[8], ms = now, attempts = d.att or 0}
  if maybe_sent then st.maybe_sent = 1 end
  if (d.ps or 0) > 0 then st.parts_sent = d.ps end
  redis.call('HSET', KEYS[7], oid, cjson.encode(st))
  redis.call('XADD', KEYS[8], '*', 'ev', 'outbound_' .. ARGV[6], 'ch', ch, 'ref', oid, 'reason', ARGV[7],
             'text', ARGV[8], 'by', d.by or '')
  return {'ok', redis.call('ZCARD', KEYS[4])}
end

return redis.error_reply('ERR outbound_handoff: unknown operation')
