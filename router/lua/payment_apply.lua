-- payment_apply.lua — one imported payment, applied atomically on one debtor: recorded once
-- (dedupe on the payment's reference), then the debtor's promises to pay it covers are kept.
-- Run by `hilo import-payments` (router/cli/cmd_payments.c); docs/promises.md explains the rules.
-- KEYS[1] hilo:{d:ID}:debtor     KEYS[2] hilo:{d:ID}:payments (reference -> payment JSON)
-- KEYS[3] hilo:{d:ID}:promises   KEYS[4] hilo:{d:ID}:conv   KEYS[5] hilo:{d:ID}:audit
-- (on the debtor's slot only: the caller removes each kept promise's member of
-- hilo:promises:due after this answers; a crash in between leaves it, and the promise sweeper
-- finds the promise no longer pending and removes it: router/src/promises.c)
-- ARGV[1] debtor id   ARGV[2] reference   ARGV[3] amount (cents, > 0)   ARGV[4] currency
-- ARGV[5] paid_at as given   ARGV[6] paid_ms (Unix ms; a date alone: 00:00 UTC of that day)
-- ARGV[7] "1" when paid_at is a date alone   ARGV[8] now (Unix ms)
-- Returns {1, kept promise ids...} when recorded; {0} when this reference was recorded before
-- with the same amount, currency and date (a re-import: nothing changes); {-1} unknown
-- debtor; {-2, stored JSON} when the reference was recorded before with other values.
--
-- Which payments keep which promise (kind "promise", a plan's instalments included):
--   * candidates: promises still pending, and broken ones (a payment file usually arrives a
--     day late: a payment made by the due date turns a broken promise into a kept one);
--     oldest due first (due_ms, then created_ms, then id);
--   * a payment counts for a promise when it is in the promise's currency, was made since
--     the promise was (a date alone: on or after the promise's UTC day) and by its due_ms,
--     and still has money not used by another kept promise (`unapplied_cents`);
--   * when the counting payments cover the amount, the promise is kept and the amount is
--     taken from them, oldest payment first. Partial cover changes nothing (a later payment
--     may complete it).
-- A kept instalment of a payment plan (a promise with `plan`) also updates its plan's state.
-- @include plan_state.lua
-- @include strategy_state.lua
local DAY = 86400000
local debtor, ref = ARGV[1], ARGV[2]
local amount, currency = tonumber(ARGV[3]), ARGV[4]
local paid_ms, date_only, now = tonumber(ARGV[6]), ARGV[7] == '1', tonumber(ARGV[8])
if not amount or amount <= 0 or not paid_ms or not now then
  return redis.error_reply('ERR payment_apply: bad arguments')
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local prev = redis.call('HGET', KEYS[2], ref)
if prev then
  local p = cjson.decode(prev)
  if p.amount_cents == amount and p.currency == currency and p.paid_ms == paid_ms then
    return {0}
  end
  return {-2, prev}
end

local payment = {reference = ref, amount_cents = amount, currency = currency, paid_at = ARGV[5],
                 paid_ms = paid_ms, date_only = date_only, imported_ms = now,
                 unapplied_cents = amount}
-- Every recorded payment, this one included (it is stored at the end).
local payments = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  payments[#payments + 1] = cjson.decode(all[i + 1])
end
payments[#payments + 1] = payment
table.sort(payments, function(a, b)
  if a.paid_ms ~= b.paid_ms then return a.paid_ms < b.paid_ms end
  return a.reference < b.reference
end)

local function counts(pay, prom)
  if pay.currency ~= prom.currency or (pay.unapplied_cents or 0) <= 0 then return false end
  if pay.paid_ms > prom.due_ms then return false end
  if pay.date_only then
    return pay.paid_ms + DAY > prom.created_ms
  end
  return pay.paid_ms >= prom.created_ms
end

local cands = {}
local raw = redis.call('HGETALL', KEYS[3])
for i = 1, #raw, 2 do
  local ok, p = pcall(cjson.decode, raw[i + 1])
  if ok and type(p) == 'table' and p.kind == 'promise' and type(p.due_ms) == 'number'
      and (p.state == 'pending' or p.state == 'broken') then
    p.id = raw[i]
    cands[#cands + 1] = p
  end
end
table.sort(cands, function(a, b)
  if a.due_ms ~= b.due_ms then return a.due_ms < b.due_ms end
  if (a.created_ms or 0) ~= (b.created_ms or 0) then return (a.created_ms or 0) < (b.created_ms or 0) end
  return a.id < b.id
end)

local kept = {}
local plans = {}   -- plans with an instalment kept now, by id
local changed = {} -- payments whose unapplied amount changed, by reference
for _, prom in ipairs(cands) do
  local have = 0
  for _, pay in ipairs(payments) do
    if counts(pay, prom) then have = have + pay.unapplied_cents end
  end
  if have >= prom.amount_cents then
    local need, used = prom.amount_cents, {}
    for _, pay in ipairs(payments) do
      if need <= 0 then break end
      if counts(pay, prom) then
        local take = math.min(need, pay.unapplied_cents)
        pay.unapplied_cents = pay.unapplied_cents - take
        need = need - take
        used[#used + 1] = pay.reference
        changed[pay.reference] = pay
      end
    end
    local was = prom.state
    local id = prom.id
    prom.id = nil
    prom.state = 'kept'
    prom.kept_ms = now
    prom.payments = used
    if was == 'broken' then
      -- The broken count feeds escalation rules: a promise kept after all no longer counts.
      if tonumber(redis.call('HGET', KEYS[4], 'broken_promises') or '0') > 0 then
        redis.call('HINCRBY', KEYS[4], 'broken_promises', -1)
      end
    end
    redis.call('HSET', KEYS[3], id, cjson.encode(prom))
    if type(prom.plan) == 'string' then plans[prom.plan] = true end
    redis.call('XADD', KEYS[5], '*', 'ev', 'promise_kept', 'j', cjson.encode({
      id = id, amount_cents = prom.amount_cents, currency = prom.currency, due = prom.due,
      payments = used, was = was}))
    kept[#kept + 1] = id
  end
end

for plan_id in pairs(plans) do
  plan_refresh(KEYS[3], KEYS[5], plan_id, now)
end
changed[ref] = payment
for r, pay in pairs(changed) do
  redis.call('HSET', KEYS[2], r, cjson.encode(pay))
end
-- A payment ends or changes the reason to contact: a pending strategy step is held in this
-- same step (lib/strategy_state.lua) and the runner decides again (paid in full: stop).
strat_hold(KEYS[4], 'payment')
redis.call('XADD', KEYS[5], '*', 'ev', 'payment', 'j', cjson.encode({
  reference = ref, amount_cents = amount, currency = currency, paid_at = ARGV[5],
  kept = #kept}))
local out = {1}
for _, id in ipairs(kept) do out[#out + 1] = id end
return out
