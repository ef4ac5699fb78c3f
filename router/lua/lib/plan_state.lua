-- lib/plan_state.lua — a payment plan's state, derived from its instalments; included (by
-- embed.cmake, at its "@include" line) in the scripts that settle promises
-- (payment_apply.lua keeps them, promise_break.lua breaks them). A plan is the ledger entry of
-- kind "plan" whose `instalment_ids` are promises of kind "promise" (router/src/
-- promise_ledger.c). Its state: "kept" once every instalment is kept, "broken" while any is broken,
-- else "pending"; `kept_instalments` and `broken_instalments` count them. A change of state
-- writes an audit entry plan_kept / plan_broken / plan_pending (a late payment can turn a broken
-- plan back into a pending or kept one, as it does a promise).
local function plan_refresh(kprom, kaudit, plan_id, now)
  local raw = redis.call('HGET', kprom, plan_id)
  if not raw then return end
  local ok, plan = pcall(cjson.decode, raw)
  if not ok or type(plan) ~= 'table' or type(plan.instalment_ids) ~= 'table' then return end
  if plan.state == 'cancelled' then return end -- cancelled from the console: final (agent_ops.lua)
  local kept, broken, n = 0, 0, #plan.instalment_ids
  for _, iid in ipairs(plan.instalment_ids) do
    local r = redis.call('HGET', kprom, iid)
    local ok2, p = pcall(cjson.decode, r or '')
    if ok2 and type(p) == 'table' then
      if p.state == 'kept' then kept = kept + 1 elseif p.state == 'broken' then broken = broken + 1 end
    end
  end
  local state = 'pending'
  if n > 0 and kept == n then state = 'kept' elseif broken > 0 then state = 'broken' end
  local was = plan.state
  if state == was and plan.kept_instalments == kept and plan.broken_instalments == broken then return end
  plan.state = state
  plan.kept_instalments = kept
  plan.broken_instalments = broken
  if state ~= was then plan[state .. '_ms'] = now end
  redis.call('HSET', kprom, plan_id, cjson.encode(plan))
  if state ~= was then
    redis.call('XADD', kaudit, '*', 'ev', 'plan_' .. state, 'j', cjson.encode({
      id = plan_id, was = was, instalments = n, kept_instalments = kept, broken_instalments = broken}))
  end
end
