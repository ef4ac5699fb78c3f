-- pacing.lua — one sender's send slots, shared by every router (docs/architecture.md, "Pacing").
-- KEYS[1] hilo:{pace:<channel>:<sender>}: STRING, the theoretical arrival time (GCRA) in µs.
-- ARGV[1] now in ms ('' = this Redis node's TIME: the one clock of every router for this key)
-- ARGV[2] emission interval µs (1e6 / rate)   ARGV[3] allowance: messages this one may find
-- ahead of it, itself included (the burst; less the replies' reserve for other messages)
-- -> {1, 0}: the slot is this message's | {0, wait ms}: none before then (nothing written).
--
-- GCRA: the key holds when the sender's schedule is free again (tat). A message may go when
-- tat - now <= (allowance - 1) * interval, and moves tat one interval on. Over any window of t
-- seconds at most burst + t * rate messages get a slot, whichever routers ask. One key, one
-- slot: the sender's own hash slot (../shared/DESIGN.md, "Keys on a Redis Cluster").
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1]) * 1000
end
local interval, allowance = tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local ahead = tat - now
local tau = (allowance - 1) * interval
if ahead > tau then
  return {0, math.ceil((ahead - tau) / 1000)}
end
tat = tat + interval
-- Kept while it matters (an expired key means the schedule is free), with room for a clock
-- that tests move by hand.
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 60000)
return {1, 0}
