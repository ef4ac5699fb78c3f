-- freq_cap.lua — rolling-window frequency cap for one debtor on one channel, atomically.
-- KEYS[1] hilo:{d:ID}:contacts:<channel>   ZSET attempt id -> attempt time (Unix ms)
-- ARGV[1] now (Unix ms)   ARGV[2] window (ms)   ARGV[3] limit (attempts per window, >= 1)
-- ARGV[4] attempt id (the outbound id: unique per attempt)
-- Allowed when fewer than `limit` attempts lie in (now - window, now]; then this attempt is
-- recorded. Returns {1, attempts in window including this one, 0} when allowed,
-- {0, attempts in window, ms when the oldest counted attempt ages out} when blocked.
-- Why a script: the count and the record must be one step, or two routers checking the same
-- debtor at once could both see limit-1 and both send.
-- Idempotent: an attempt id already recorded is allowed again without counting twice, so a
-- router may retry the script after a lost reply.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if not now or not window or not limit or window <= 0 or limit < 1 then
  return redis.error_reply('ERR freq_cap: bad arguments')
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  return {1, n, 0}
end
if n >= limit then
  -- The attempt becomes possible when all but limit-1 of the counted ones have aged out:
  -- the (n - limit + 1)-th oldest, at rank n - limit.
  local e = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return {0, n, tonumber(e[2]) + window}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, n + 1, 0}
