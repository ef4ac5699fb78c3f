-- turn_claim.lua — takes the due entries of one partition of the pending-turns index for a
-- sweep (router/src/turns.c): the entries "<debtor id>|<turn key>" whose score (when a sweep may
-- resume the turn) is at or before now, at most ARGV[3] of them, each pushed to now + lease so
-- that the other routers' sweeps leave it alone while this one resumes it. A router that dies
-- holding a claim only delays the turn by one lease: the entry comes due again.
-- KEYS[1] hilo:{p:<n>}:turns   ARGV[1] now (ms)   ARGV[2] lease (ms)   ARGV[3] most entries
-- Returns the claimed members. One hash slot (the partition's own tag).
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
if #due > 0 then
  local until_ms = string.format('%d', tonumber(ARGV[1]) + tonumber(ARGV[2]))
  for _, m in ipairs(due) do
    redis.call('ZADD', KEYS[1], 'XX', until_ms, m)
  end
end
return due
