-- pacing.lua — one sender's send slots, shared by every router (docs/architecture.md, "Pacing").
-- KEYS[1] hilo:{pace:<channel>:<sender>}: HASH t = the theoretical arrival time (GCRA, µs),
--         h = the next revisit time handed to a message that had to wait (µs).
-- ARGV[1] now in ms ('' = this Redis node's TIME: the one clock of every router for this key)
-- ARGV[2] emission interval µs (1e6 / rate)   ARGV[3] allowance: messages this one may find
-- ahead of it, itself included (the burst; less the replies' reserve for other messages)
-- -> {1, 0}: the slot is this message's | {0, wait ms}: look again then.
--
-- GCRA: t is when the sender's schedule is free again. A message may go when t - now <=
-- (allowance - 1) * interval, and moves t one interval on. Over any window of s seconds at
-- most burst + s * rate messages get a slot, whichever routers ask. Only a granted slot moves t.
-- A message that must wait is told to come back at h, which then moves one interval on: the
-- messages waiting for one sender come back one per slot, not all at the moment the next slot
-- opens (thousands of steps behind a 1/s number would otherwise all ask again every second).
-- h gives no right to the slot: a message that comes back and finds it taken waits again.
-- One key, one hash slot (../shared/DESIGN.md, "Keys on a Redis Cluster").
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1]) * 1000
end
local interval, allowance = tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'h')
local tat = tonumber(v[1] or '0') or 0
local hz = tonumber(v[2] or '0') or 0
if tat < now then tat = now end
local tau = (allowance - 1) * interval
local keep
if tat - now <= tau then
  tat = tat + interval
  redis.call('HSET', KEYS[1], 't', string.format('%.0f', tat))
  keep = math.max(tat, hz)
else
  local back = math.max(tat - tau, hz)
  hz = back + interval
  redis.call('HSET', KEYS[1], 'h', string.format('%.0f', hz))
  keep = math.max(tat, hz)
  redis.call('PEXPIRE', KEYS[1], math.ceil((keep - now) / 1000) + 60000)
  return {0, math.max(1, math.ceil((back - now) / 1000))}
end
-- Kept while it matters (a key gone means a free schedule), with room for a clock that tests
-- move by hand.
redis.call('PEXPIRE', KEYS[1], math.ceil((keep - now) / 1000) + 60000)
return {1, 0}
