-- sla_mark.lua — one conversation's first-response verdict on its queue's SLA counters
-- (router/src/console/sla_mark.c), atomic on the queue's slot. The conversation is claimed
-- from the queue's awaiting set (route_offer.lua put it there when it first saw it queued, with
-- its deadline as score): only the claim counts, so a verdict is counted once whoever comes
-- twice (a repeated reply, the breach sweep after a reply, a retry after a crash).
-- KEYS[1] hilo:{q:<queue>}:await  KEYS[2] hilo:{q:<queue>}:sla:<business day>
-- ARGV[1] member "<debtor>|<esc_ms>"  ARGV[2] "met" or "breached"  ARGV[3] the day key's TTL (s)
-- Returns 1 when counted, 0 when the member had been counted already (or never awaited).
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
