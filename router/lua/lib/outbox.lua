-- outbox_enqueue(kconv, kout, koq, kodisp, oid, payload, disp) — puts one committed outbound
-- message at the end of its debtor's queue on its channel: the payload in `out`, its place
-- (the conversation's commit counter out_seq) in `oq:<channel>`, and how the gate at hand-off
-- must judge it in `odisp` (JSON: by, bot, kind, wait). Debtor keys only; the caller has already
-- marked the debtor in the partitioned dispatch index (docs/architecture.md, "Outbound").
local function outbox_enqueue(kconv, kout, koq, kodisp, oid, payload, disp)
  local seq = redis.call('HINCRBY', kconv, 'out_seq', 1)
  redis.call('HSET', kout, oid, payload)
  redis.call('ZADD', koq, seq, oid)
  redis.call('HSET', kodisp, oid, disp)
  return seq
end
