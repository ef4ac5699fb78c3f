-- engine_apply.lua — the effects of one conversation turn (bot replies, state, ledger,
-- escalation, audit), applied atomically on one debtor, if nobody changed the conversation
-- since the engine read it (optimistic concurrency on the conv field `rev`).
-- KEYS[1] hilo:{d:ID}:conv    KEYS[2] hilo:{d:ID}:hist    KEYS[3] hilo:{d:ID}:out
-- KEYS[4] hilo:{d:ID}:audit   KEYS[5] hilo:{d:ID}:promises
-- KEYS[6] hilo:{d:ID}:oq:<channel of the replies>
-- KEYS[7] hilo:{d:ID}:turnq   KEYS[8] hilo:{d:ID}:turns (the debtor's pending turns)
-- KEYS[9] hilo:{d:ID}:odisp   KEYS[10] hilo:{d:ID}:consent (the debtor's word on consent)
-- One debtor, one hash slot. The global indexes a turn writes are steps of their own, by the
-- router (router/src/engine_indexes.c), each on its own slot: before this script, the queue's
-- entry (hilo:queues, hilo:queue:<skill>) and the promises' due entries (hilo:promises:due) —
-- a crash or a turn that does not commit leaves an entry the routing pass (route_offer.lua) or
-- the promise sweeper drops; after it, the entry of the queue the conversation left and the
-- console event — a crash loses only those (route_offer.lua drops the old entry; the next
-- snapshot shows the change).
-- (the router marks the debtor in the partitioned dispatch index before this: lib/outbox.lua)
-- ARGV[1] the rev the engine read ("0" when the field was absent)
-- ARGV[2] effects, JSON, every value a string:
--   {"debtor":id,"now":ms,"hist_max":n,
--    "set":{field:value}, "del":[field],
--    "outbound":[{"oid","ch","by","item":json,"pending":"1"|"0","dispatch":"1"|"0","disp":json}],
--    "audit":[{"ev":name,"j":json}], "promises":{id:json}, "due":{id:due_ms},
--    "queue":{"skill":s,"score":n}, "unqueue":skill, "notify":agent, "turn":key,
--    "committed":cents, "currency":c, "consent":{"<channel>:<E.164>":"granted|revoked|<ms>|conversation"}}
--   (due, queue, unqueue, notify: read by the router's steps around this script, not here;
--    committed: what the engine saw pending in the ledger when the turn adds promises; a ledger
--    that changed since is a conversation that moved on)
-- ARGV[3..] the serialized Outbound of each effects.outbound entry, in order.
-- Returns {1, new rev} when applied; {0, current rev} when the conversation moved on (the
-- engine reads it again and re-runs the turn); {2, current rev} when the turn is no longer
-- pending (applied already, by this router or another: nothing is written again); {3, key of
-- the oldest pending turn} when an older turn of the debtor is still pending (the engine applies
-- that one first: a debtor's turns take effect in the order their messages were committed).
-- Applying removes the turn from the pending ones in the same step as its effects, so a turn
-- takes effect exactly once (docs/architecture.md, "Durable turns").
-- @include conv_rev.lua
-- @include outbox.lua
-- @include strategy_state.lua
-- @include ledger.lua
local e = cjson.decode(ARGV[2])
local rev = conv_rev_value(redis.call('HGET', KEYS[1], 'rev'))
if e.turn then
  if redis.call('HEXISTS', KEYS[8], e.turn) == 0 then
    return {2, rev}
  end
  local head = redis.call('ZRANGE', KEYS[7], 0, 0)[1]
  -- An order entry without its record (only a hand edit makes one) is dropped: it would hold
  -- back every later turn of the debtor, and there is nothing to apply for it.
  while head and head ~= e.turn and redis.call('HEXISTS', KEYS[8], head) == 0 do
    redis.call('ZREM', KEYS[7], head)
    head = redis.call('ZRANGE', KEYS[7], 0, 0)[1]
  end
  if head and head ~= e.turn then
    return {3, head}
  end
end
if rev ~= conv_rev_value(ARGV[1]) then
  return {0, rev}
end
-- A promise or plan was sized on what the ledger left of the balance: an agent's promise or a
-- payment since changes that, and the turn is decided again (never over-committing).
if e.committed and ledger_committed(KEYS[5], e.currency) ~= tonumber(e.committed) then
  return {0, rev}
end
if e.turn then
  redis.call('ZREM', KEYS[7], e.turn)
  redis.call('HDEL', KEYS[8], e.turn)
end
local now = e.now
for f, v in pairs(e.set or {}) do
  redis.call('HSET', KEYS[1], f, v)
end
for _, f in ipairs(e.del or {}) do
  redis.call('HDEL', KEYS[1], f)
end
redis.call('HSET', KEYS[1], 'rev', string.format('%d', rev + 1), 'updated_ms', now)
-- A turn may record a promise, an opt-out, a dispute, an escalation: a pending strategy step
-- is held in this same step (lib/strategy_state.lua), and the runner decides again.
strat_hold(KEYS[1], 'conversation')
for i, ob in ipairs(e.outbound or {}) do
  local hid = redis.call('XADD', KEYS[2], 'MAXLEN', e.hist_max, '*', 'j', ob.item)
  if ob.dispatch == '1' then
    outbox_enqueue(KEYS[1], KEYS[3], KEYS[6], KEYS[9], ob.oid, ARGV[2 + i], ob.disp)
  elseif ob.pending == '1' then
    redis.call('HSET', KEYS[3], ob.oid, ARGV[2 + i])
  end
  redis.call('XADD', KEYS[4], '*', 'ev', 'outbound', 'ch', ob.ch, 'ref', ob.oid, 'hist', hid, 'by', ob.by)
  redis.call('HINCRBY', KEYS[1], 'msgs_out', 1)
  redis.call('HSET', KEYS[1], 'last_out_ms', now, 'last_out_channel', ob.ch)
end
for _, a in ipairs(e.audit or {}) do
  redis.call('XADD', KEYS[4], '*', 'ev', a.ev, 'j', a.j)
end
for f, v in pairs(e.consent or {}) do
  redis.call('HSET', KEYS[10], f, v)
end
for id, p in pairs(e.promises or {}) do
  redis.call('HSET', KEYS[5], id, p)
end
return {1, rev + 1}
