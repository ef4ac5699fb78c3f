-- claim_outbox.lua — take up to N due outbound messages of one channel for this router.
-- KEYS[1] hilo:outbox:<channel>   KEYS[2] hilo:outbox:<channel>:attempts
-- ARGV[1] now (Unix ms)   ARGV[2] lease (ms)   ARGV[3] max to claim
-- Returns a flat list: member "<debtor_id>|<outbound_id>", attempt number, member, attempt...
-- A claim pushes the member's due time to now + lease: if no delivery report settles it by
-- then (connector died, router died), any router claims it again, with attempt + 1. Two
-- routers never hold the same member at the same time.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local until_ms = now + tonumber(ARGV[2])
local out = {}
for _, m in ipairs(due) do
  redis.call('ZADD', KEYS[1], until_ms, m)
  out[#out + 1] = m
  out[#out + 1] = redis.call('HINCRBY', KEYS[2], m, 1)
end
return out
