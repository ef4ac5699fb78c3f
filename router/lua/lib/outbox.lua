-- outbox_enqueue(kconv, kout, koq, kodisp, oid, payload, disp) — puts one committed outbound
-- message at the end of its debtor's queue on its channel: the payload in `out`, its place
-- (the conversation's commit counter out_seq) in `oq:<channel>`, and how the gate at hand-off
-- must judge it in `odisp` (JSON: by, bot, kind, wait). Debtor keys only. The caller marks the
-- debtor in the partitioned dispatch index before (a crash after the commit still leaves a mark)
-- and again after (a router's sweep that found the queue empty between the first mark and the
-- commit may have removed the first; docs/architecture.md, "Outbound").
local function outbox_enqueue(kconv, kout, koq, kodisp, oid, payload, disp)
  local seq = redis.call('HINCRBY', kconv, 'out_seq', 1)
  redis.call('HSET', kout, oid, payload)
  redis.call('ZADD', koq, seq, oid)
  redis.call('HSET', kodisp, oid, disp)
  return seq
end
