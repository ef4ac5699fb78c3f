-- contact_cap(key, now, window, limit, id) — the rolling-window frequency cap on one debtor's
-- channel (key = hilo:{d:ID}:contacts:<channel>, ZSET attempt id -> attempt ms). Allowed when
-- fewer than `limit` attempts lie in (now - window, now]; the attempt is then recorded.
-- Returns {1, attempts in window including this one, 0} when allowed, {0, attempts in window,
-- ms when the oldest counted attempt ages out} when blocked. Idempotent on `id` (the outbound
-- id): an attempt already recorded is allowed again without counting twice, so the gate may be
-- asked again at hand-off, or after a lost reply, without counting a message twice.
local function contact_cap(key, now, window, limit, id)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if redis.call('ZSCORE', key, id) then
    return {1, n, 0}
  end
  if n >= limit then
    -- Possible again when all but limit-1 of the counted ones have aged out: the
    -- (n - limit + 1)-th oldest, at rank n - limit.
    local e = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
    return {0, n, tonumber(e[2]) + window}
  end
  redis.call('ZADD', key, now, id)
  redis.call('PEXPIRE', key, window)
  return {1, n + 1, 0}
end
