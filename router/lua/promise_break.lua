-- promise_break.lua — one due entry of the promise index, settled: a promise to pay whose due
-- time has passed while it is still pending is broken. Run by the router's promise sweeper
-- (router/src/promises.c) for each member of hilo:promises:due with a score <= now; on the
-- debtor's slot only: the sweeper removes the index member after this answers (a crash in
-- between leaves it, and the next sweep finds the promise no longer pending).
-- KEYS[1] hilo:{d:ID}:promises   KEYS[2] hilo:{d:ID}:conv   KEYS[3] hilo:{d:ID}:audit
-- ARGV[1] the promise id   ARGV[2] now (Unix ms)
-- Returns 1 when the promise was broken now, 0 otherwise (already kept or broken, unknown, or
-- broken by another router meanwhile).
-- Idempotent: several routers sweep at once and may pick the same member; the promise's own
-- state (pending) decides, on its slot, so only the first one breaks it.
-- A broken instalment of a payment plan (a promise with `plan`) also updates its plan's state.
-- @include plan_state.lua
local now = tonumber(ARGV[2])
if not now then
  return redis.error_reply('ERR promise_break: bad arguments')
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  return 0
end
local ok, p = pcall(cjson.decode, raw)
if not ok or type(p) ~= 'table' or p.state ~= 'pending' then
  return 0
end
p.state = 'broken'
p.broken_ms = now
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(p))
local n = redis.call('HINCRBY', KEYS[2], 'broken_promises', 1)
redis.call('XADD', KEYS[3], '*', 'ev', 'promise_broken', 'j', cjson.encode({
  id = ARGV[1], amount_cents = p.amount_cents, currency = p.currency, due = p.due,
  broken_promises = n}))
if type(p.plan) == 'string' then
  plan_refresh(KEYS[1], KEYS[3], p.plan, now)
end
return 1
