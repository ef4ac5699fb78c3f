-- ledger.lua — what a debtor has promised and not yet paid: the sum of the ledger's pending
-- promises (kind "promise", plan instalments included) in one currency. A new promise or plan
-- may only commit what the balance leaves over it (docs/promises.md, "Commitments never
-- exceed what is owed"). Kept and broken promises commit nothing. Computed from the ledger
-- itself, never kept as a counter, so nothing can drift; a debtor's ledger is small.
local function ledger_committed(key, currency)
  local sum = 0
  for _, v in ipairs(redis.call('HVALS', key)) do
    local ok, p = pcall(cjson.decode, v)
    if ok and type(p) == 'table' and p.kind == 'promise' and p.state == 'pending'
        and type(p.amount_cents) == 'number' and p.amount_cents == math.floor(p.amount_cents) and (currency == nil or p.currency == currency) then
      sum = sum + p.amount_cents
    end
  end
  return sum
end
