-- settle_outbound.lua — record a delivery report for one outbound message.
-- KEYS[1] hilo:{d:ID}:out   KEYS[2] hilo:{d:ID}:ostat   KEYS[3] hilo:outbox:<channel>
-- KEYS[4] hilo:outbox:<channel>:attempts
-- ARGV[1] outbound id   ARGV[2] status JSON, with "rank" (sent 1, delivered 2, read 3, failed 4)
-- ARGV[3] debtor id
-- Any report settles the outbound: the provider has taken it (or refused it for good), so it
-- leaves the pending hash and the dispatch index and is never re-sent.
-- Returns 1 when the status was recorded, 0 when an equal or later state was already known
-- (reports arrive out of order: "read" must not be overwritten by a late "delivered"). A report
-- about one part of a message sent in parts ("part", "parts") updates that part, and the
-- message's state follows its parts (lib/delivery_state.lua).
-- @include delivery_state.lua
local member = ARGV[3] .. '|' .. ARGV[1]
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], member)
redis.call('HDEL', KEYS[4], member)
local status = delivery_state_merge(redis.call('HGET', KEYS[2], ARGV[1]), ARGV[2])
if not status then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], status)
return 1
