-- commit_outbound.lua — a message to the debtor, committed before anything is sent.
-- KEYS[1] hilo:{d:ID}:conv   KEYS[2] hilo:{d:ID}:hist   KEYS[3] hilo:{d:ID}:out
-- KEYS[4] hilo:{d:ID}:oq:<channel>   KEYS[5] hilo:{d:ID}:odisp   (one debtor: one hash slot)
-- ARGV[1] outbound id   ARGV[2] now (Unix ms)   ARGV[3] history item (JSON)
-- ARGV[4] history cap   ARGV[5] serialized Outbound (protobuf)   ARGV[6] debtor id
-- ARGV[7] channel name   ARGV[8] dispatch state JSON (lib/outbox.lua)
-- The caller marks the debtor in hilo:{p:N}:outbox:<channel> before this (a second, idempotent
-- step on the partition's slot: a crash between the two leaves a mark with nothing behind it,
-- which the next sweep removes).
-- ARGV[9], ARGV[10] (a strategy's step only; router/src/strategy_run.c): the conv field `strat`
-- as the runner read it, and what it becomes (state out, this outbound id). The message is
-- committed only if the field is unchanged (lib/strategy_state.lua): two routers that decided
-- the same step commit it once, and an event that held the step since the read wins.
-- ARGV[11] (optional, a strategy's step): the conv field `opt_credit` ('' = unchanged), the
-- contact optimizer's credit of this decision (router/src/strategy_optimize.c).
-- Returns the history stream id, or 0 when this outbound id was committed before, or -1 when the
-- strategy field changed (nothing written).
-- @include outbox.lua
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return 0
end
if ARGV[9] then
  if (redis.call('HGET', KEYS[1], 'strat') or '') ~= ARGV[9] then
    return -1
  end
  redis.call('HSET', KEYS[1], 'strat', ARGV[10])
  if ARGV[11] and ARGV[11] ~= '' then
    redis.call('HSET', KEYS[1], 'opt_credit', ARGV[11])
  end
end
local now = tonumber(ARGV[2])
local id = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', 'j', ARGV[3])
outbox_enqueue(KEYS[1], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[5], ARGV[8])
if redis.call('HSETNX', KEYS[1], 'created_ms', now) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'open')
end
redis.call('HSET', KEYS[1], 'updated_ms', now, 'last_out_ms', now, 'last_out_channel', ARGV[7])
redis.call('HINCRBY', KEYS[1], 'msgs_out', 1)
return id
