-- outbox_index.lua — one partition of a channel's dispatch index, hilo:{p:N}:outbox:<channel>
-- (ZSET debtor id -> when to look at the debtor's queue on that channel, Unix ms).
-- KEYS[1] the partition.   ARGV[1] operation:
--  'claim' ARGV[2] now  ARGV[3] lease ms  ARGV[4] max
--     Takes up to max debtors due at now and pushes their score to now + lease, so that no other
--     router looks at them meanwhile (the per-debtor step is safe anyway: outbound_handoff.lua).
--     Returns {now + lease, debtor, debtor, ...}.
--  'set_if' ARGV[2] debtor  ARGV[3] the score this router's claim gave it  ARGV[4] new score, or
--     '' to remove it
--     Changes the entry only if nobody touched it since the claim (a commit marks the debtor
--     with score 0 before writing the message: that mark must survive). Returns 1 or 0.
local op = ARGV[1]
if op == 'claim' then
  local now = tonumber(ARGV[2])
  local until_ms = now + tonumber(ARGV[3])
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
  local out = {string.format('%d', until_ms)}
  for _, d in ipairs(due) do
    redis.call('ZADD', KEYS[1], until_ms, d)
    out[#out + 1] = d
  end
  return out
elseif op == 'set_if' then
  local cur = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if not cur or tonumber(cur) ~= tonumber(ARGV[3]) then
    return 0
  end
  if ARGV[4] == '' then
    redis.call('ZREM', KEYS[1], ARGV[2])
  else
    redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
  end
  return 1
end
return redis.error_reply('ERR outbox_index: unknown operation')
