-- commit_inbound.lua — a batch of inbound messages, each committed to its debtor's keys.
-- The router gathers the envelopes whose identity came back in one loop turn (at most
-- [router] commit_batch_max) and commits them with one call; message i (from 0) uses
--   KEYS[6i+1] hilo:{d:ID}:conv   KEYS[6i+2] hilo:{d:ID}:hist   KEYS[6i+3] hilo:{d:ID}:seen
--   KEYS[6i+4] hilo:{d:ID}:audit  KEYS[6i+5] hilo:{d:ID}:turnq  KEYS[6i+6] hilo:{d:ID}:turns
--   ARGV[4+7i] dedupe member "<channel>:<provider_message_id>"   ARGV[5+7i] history item (JSON)
--   ARGV[6+7i] channel name   ARGV[7+7i] debtor's address on that channel
--   ARGV[8+7i] "1" when the sender is an unidentified contact
--   ARGV[9+7i] the engine turn's key ("" = no turn: the engine is off)
--   ARGV[10+7i] the envelope's Frame (serialized), for the turn's record
-- and all share ARGV[1] now (Unix ms), ARGV[2] history cap (entries), ARGV[3] dedupe window (ms).
-- A stored message with a turn key also records its engine turn, pending, in the same step
-- (docs/architecture.md, "Durable turns"): turnq orders the debtor's pending turns (the new
-- one after the last), turns holds "<now>|<history id>|<unidentified>|<address>|<Frame>".
-- engine_apply.lua removes both when it applies the turn's effects.
-- Returns {status, stream id} per message, flattened: status 0 = stored, 1 = duplicate
-- (nothing written, id ""), 2 = stored in a conversation an agent had closed (the router then
-- runs reopen.lua for it: docs/console-protocol.md, "Reopen"; a call's end never is).
-- Why one script per message's keys: the dedupe check, the history append, the audit entry and
-- the state update must be seen together or not at all; a router killed between them would
-- otherwise lose or double items. Messages run in order, so two of one debtor in a batch keep
-- their order, and the second copy of a provider id in a batch is a duplicate. Should the
-- script fail half-way (Redis refuses a write), the router nacks the whole batch and the
-- connectors' retries are deduplicated for the messages already written; the message whose
-- history append failed is not marked seen, so its retry is stored.
-- The dedupe set is pruned every PRUNE_EVERY messages of a debtor, so it keeps at least
-- the window (and a few entries more).
-- A debtor in an outbound strategy whose step is pending gets it held here, in the same step
-- that records the reply (lib/strategy_state.lua): the runner decides again before anything of
-- the strategy goes out.
-- @include strategy_state.lua
local PRUNE_EVERY = 32
-- `now` stays a string: a Lua number passed to redis.call is formatted with printf, which
-- costs more than the command it feeds.
local now, cap = ARGV[1], ARGV[2]
local out = {}
for i = 0, #KEYS / 6 - 1 do
  local kconv, khist, kseen, kaudit = KEYS[6 * i + 1], KEYS[6 * i + 2], KEYS[6 * i + 3], KEYS[6 * i + 4]
  local a = 3 + 7 * i
  local ref, item, ch, addr = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  -- NX: the first sighting's time is kept; 0 added = seen before.
  if redis.call('ZADD', kseen, 'NX', now, ref) == 0 then
    out[#out + 1] = 1
    out[#out + 1] = ''
  else
    local id = redis.pcall('XADD', khist, 'MAXLEN', cap, '*', 'j', item)
    if type(id) == 'table' and id.err then
      -- Not stored (e.g. the key holds another type): forget the sighting, so that the
      -- connector's retry is not taken for a duplicate, and fail the batch.
      redis.call('ZREM', kseen, ref)
      return redis.error_reply(id.err)
    end
    -- The audit trail is append-only (never trimmed here): it outlives the capped history.
    redis.call('XADD', kaudit, '*', 'ev', 'inbound', 'ch', ch, 'ref', ref, 'hist', id)
    local f = redis.call('HMGET', kconv, 'state', 'last_channel', 'addr:' .. ch, 'msgs_in', 'created_ms', 'strat')
    local closed = f[1] == 'closed'
    -- A call's end is not the debtor writing again: the caller hung up, often on the very call
    -- the agent just closed. Nor is the agent's phone ringing or answering (agent_* events,
    -- protocol 1.4), nor the outcome of a click-to-call's debtor leg (debtor_dialed). They never
    -- reopen the case (status 0), and the close's inbound count takes them in, so the reopen
    -- sweep (reopen.lua) does not take them for a message either.
    -- The item is the router's own JSON (router/src/history_item.c): a debtor's text cannot
    -- hold this unescaped.
    local call_end = closed and (string.find(item, '"event":"call_end"', 1, true) ~= nil or
                                 string.find(item, '"event":"agent_', 1, true) ~= nil or
                                 string.find(item, '"event":"debtor_dialed"', 1, true) ~= nil)
    if call_end then closed = false end
    -- The inbound count is read above and written with the other fields: one command less
    -- than HINCRBY + HSET, in the script and in the AOF.
    local n = (tonumber(f[4]) or 0) + 1
    -- The channel and address are written only when they change: every byte written here is
    -- in the AOF, which the once-a-second fsync writes back (docs/performance-log.md).
    if f[2] == ch and f[3] == addr then
      redis.call('HSET', kconv, 'msgs_in', n, 'updated_ms', now, 'last_in_ms', now, 'last_in:' .. ch, now)
    else
      redis.call('HSET', kconv, 'msgs_in', n, 'updated_ms', now, 'last_in_ms', now, 'last_channel', ch,
                 'addr:' .. ch, addr, 'last_in:' .. ch, now)
    end
    -- The conversation's creation fields on its first inbound (unless an outbound created it).
    if call_end then redis.call('HSET', kconv, 'closed_in', n) end
    if n == 1 and not f[5] then
      redis.call('HSET', kconv, 'created_ms', now, 'state', 'open', 'unidentified', ARGV[a + 5])
    end
    if f[6] then strat_hold(kconv, 'reply') end
    local turn = ARGV[a + 6]
    if turn ~= '' then
      local last = redis.call('ZRANGE', KEYS[6 * i + 5], -1, -1, 'WITHSCORES')
      local order = (tonumber(last[2]) or 0) + 1
      redis.call('ZADD', KEYS[6 * i + 5], string.format('%d', order), turn)
      redis.call('HSET', KEYS[6 * i + 6], turn, now .. '|' .. id .. '|' .. ARGV[a + 5] .. '|' .. addr .. '|' .. ARGV[a + 7])
    end
    if n % PRUNE_EVERY == 0 then
      redis.call('ZREMRANGEBYSCORE', kseen, '-inf', string.format('%d', tonumber(now) - tonumber(ARGV[3])))
    end
    out[#out + 1] = closed and 2 or 0
    out[#out + 1] = id
  end
end
return out
