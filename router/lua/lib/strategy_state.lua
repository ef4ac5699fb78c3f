-- strategy_state.lua — a debtor's place in an outbound strategy: the conv field `strat`
-- (written by the router's strategy runner, router/src/strategy_run.c; docs/strategies.md,
-- "Running a strategy"). One field on the conversation hash, so that every script that records
-- an event on the debtor already holds it (the same atomic step), and a schedule stays small.
--   "<state>|<strategy>|<segment>|<variant>|<step>|<last>|<at>|<sent_ms>|<oid>|<why>|<prev>|<rev>"
-- state: 'due'  the step `step` is due at `at` (Unix ms);
--        'out'  `step` was committed as outbound `oid` at sent_ms; its timeout is at `at` (0: none);
--        'hold' an event came (`why`: reply, conversation, payment, agent) while the state was
--               `prev` (due or out): nothing of the strategy goes out until the runner has decided
--               again on the debtor's facts;
--        'stop' excluded (`why`: the exclusion's name); looked at again at `at`;
--        'end'  the debtor's run of the strategy is over.
-- `last` is the last step sent; `rev` counts the field's writes (the runner's compare-and-set).
local function strat_split(s)
  local f, i = {}, 1
  while true do
    local j = string.find(s, '|', i, true)
    if not j then
      f[#f + 1] = string.sub(s, i)
      return f
    end
    f[#f + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end

-- Holds the debtor's pending step (state due or out) because of `why`, in the caller's atomic
-- step. Returns true when a step was held.
local function strat_hold(kconv, why)
  local s = redis.call('HGET', kconv, 'strat')
  if not s then return false end
  local f = strat_split(s)
  if #f ~= 12 or (f[1] ~= 'due' and f[1] ~= 'out') then return false end
  f[11] = f[1]
  f[1] = 'hold'
  f[10] = why
  f[12] = string.format('%d', (tonumber(f[12]) or 0) + 1)
  redis.call('HSET', kconv, 'strat', table.concat(f, '|'))
  return true
end

-- Is outbound `oid` the debtor's current strategy step, still to be sent (state out)? When not,
-- also returns why ('' when the field is gone).
local function strat_current(kconv, oid)
  local s = redis.call('HGET', kconv, 'strat')
  if not s then return false, 'no_strategy' end
  local f = strat_split(s)
  if f[1] == 'out' and f[9] == oid then return true, '' end
  if f[1] == 'hold' or f[1] == 'stop' then return false, f[10] end
  return false, f[1]
end
