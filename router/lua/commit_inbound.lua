-- commit_inbound.lua — one debtor's inbound message, committed in one atomic step.
-- KEYS[1] hilo:{d:ID}:conv   KEYS[2] hilo:{d:ID}:hist   KEYS[3] hilo:{d:ID}:seen
-- KEYS[4] hilo:{d:ID}:audit
-- ARGV[1] dedupe member "<channel>:<provider_message_id>"
-- ARGV[2] now (Unix ms)           ARGV[3] history item (JSON)
-- ARGV[4] history cap (entries)   ARGV[5] dedupe window (ms)
-- ARGV[6] channel name            ARGV[7] debtor's address on that channel
-- ARGV[8] "1" when the sender is an unidentified contact
-- Returns {0, stream id} when stored, {1, ""} when it was a duplicate (nothing written).
-- Why one script: the dedupe check, the history append, the audit entry and the state update
-- must be seen together or not at all; a router killed between them would otherwise lose or
-- double items.
local now = tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return {1, ''}
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', 'j', ARGV[3])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))
-- The audit trail is append-only (never trimmed here): it outlives the capped history.
redis.call('XADD', KEYS[4], '*', 'ev', 'inbound', 'ch', ARGV[6], 'ref', ARGV[1], 'hist', id)
if redis.call('HSETNX', KEYS[1], 'created_ms', now) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'open', 'unidentified', ARGV[8])
end
redis.call('HSET', KEYS[1], 'updated_ms', now, 'last_in_ms', now, 'last_channel', ARGV[6],
           'addr:' .. ARGV[6], ARGV[7], 'last_in:' .. ARGV[6], now)
redis.call('HINCRBY', KEYS[1], 'msgs_in', 1)
return {0, id}
