-- engine_apply.lua — the effects of one conversation turn (bot replies, state, ledger,
-- escalation, audit), applied atomically on one debtor, if nobody changed the conversation
-- since the engine read it (optimistic concurrency on the conv field `rev`).
-- KEYS[1] hilo:{d:ID}:conv    KEYS[2] hilo:{d:ID}:hist    KEYS[3] hilo:{d:ID}:out
-- KEYS[4] hilo:{d:ID}:audit   KEYS[5] hilo:{d:ID}:promises
-- KEYS[6] hilo:{d:ID}:oq:<channel of the replies>   KEYS[7] hilo:queue:<skill> (any key when not
-- escalating)   KEYS[8] hilo:queues   KEYS[9] hilo:promises:due
-- KEYS[10] hilo:{d:ID}:turnq   KEYS[11] hilo:{d:ID}:turns (the debtor's pending turns)
-- KEYS[12] hilo:{d:ID}:odisp
-- KEYS[13] hilo:queue:<skill> the conversation leaves (any key when it moves to no other queue)
-- KEYS[14] hilo:console:events   KEYS[15] hilo:{d:ID}:consent (the debtor's word on consent)
-- (the router marks the debtor in the partitioned dispatch index before this: lib/outbox.lua)
-- ARGV[1] the rev the engine read ("0" when the field was absent)
-- ARGV[2] effects, JSON, every value a string:
--   {"debtor":id,"now":ms,"hist_max":n,
--    "set":{field:value}, "del":[field],
--    "outbound":[{"oid","ch","by","item":json,"pending":"1"|"0","dispatch":"1"|"0","disp":json}],
--    "audit":[{"ev":name,"j":json}], "promises":{id:json}, "due":{id:due_ms},
--    "queue":{"skill":s,"score":n}, "unqueue":skill, "notify":agent, "turn":key,
--    "committed":cents, "currency":c, "consent":{"<channel>:<E.164>":"granted|revoked|<ms>|conversation"}}
--   (unqueue: the queue it leaves for `queue` — a stronger reason raised while it waited;
--    notify: the conversation's reason changed (or, notify_kind "message", the debtor wrote to
--    the agent holding it): consoles are told, that agent's list too;
--    committed: what the engine saw pending in the ledger when the turn adds promises; a ledger
--    that changed since is a conversation that moved on)
-- ARGV[3..] the serialized Outbound of each effects.outbound entry, in order.
-- Returns {1, new rev} when applied; {0, current rev} when the conversation moved on (the
-- engine reads it again and re-runs the turn); {2, current rev} when the turn is no longer
-- pending (applied already, by this router or another: nothing is written again); {3, key of
-- the oldest pending turn} when an older turn of the debtor is still pending (the engine applies
-- that one first: a debtor's turns take effect in the order their messages were committed).
-- Applying removes the turn from the pending ones in the same step as its effects, so a turn
-- takes effect exactly once (docs/architecture.md, "Durable turns"). Keys 7-9, 13 and 14 are global (see
-- docs/architecture.md on Redis Cluster).
-- @include conv_rev.lua
-- @include outbox.lua
-- @include strategy_state.lua
-- @include ledger.lua
local e = cjson.decode(ARGV[2])
local rev = conv_rev_value(redis.call('HGET', KEYS[1], 'rev'))
if e.turn then
  if redis.call('HEXISTS', KEYS[11], e.turn) == 0 then
    return {2, rev}
  end
  local head = redis.call('ZRANGE', KEYS[10], 0, 0)[1]
  -- An order entry without its record (only a hand edit makes one) is dropped: it would hold
  -- back every later turn of the debtor, and there is nothing to apply for it.
  while head and head ~= e.turn and redis.call('HEXISTS', KEYS[11], head) == 0 do
    redis.call('ZREM', KEYS[10], head)
    head = redis.call('ZRANGE', KEYS[10], 0, 0)[1]
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
  redis.call('ZREM', KEYS[10], e.turn)
  redis.call('HDEL', KEYS[11], e.turn)
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
    outbox_enqueue(KEYS[1], KEYS[3], KEYS[6], KEYS[12], ob.oid, ARGV[2 + i], ob.disp)
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
  redis.call('HSET', KEYS[15], f, v)
end
for id, p in pairs(e.promises or {}) do
  redis.call('HSET', KEYS[5], id, p)
end
-- The due index lets the promise sweeper find promises whose date passes unpaid.
for id, due in pairs(e.due or {}) do
  redis.call('ZADD', KEYS[9], due, e.debtor .. '|' .. id)
end
if e.unqueue then
  redis.call('ZREM', KEYS[13], e.debtor)
end
if e.queue then
  redis.call('ZADD', KEYS[7], e.queue.score, e.debtor)
  redis.call('SADD', KEYS[8], e.queue.skill)
end
if e.notify then
  redis.call('XADD', KEYS[14], 'MAXLEN', '~', 10000, '*', 'k', e.notify_kind or 'escalation', 'a', e.notify,
             'd', e.debtor)
end
return {1, rev + 1}
