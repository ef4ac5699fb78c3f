-- strategy_set.lua — the strategy runner's decision about one debtor, written if nothing changed
-- since it read (router/src/strategy_run.c; the field's format: lib/strategy_state.lua).
-- KEYS[1] hilo:{d:ID}:conv   KEYS[2] hilo:{d:ID}:audit
-- ARGV[1] the conv field `strat` as the runner read it ('' = absent)
-- ARGV[2] what it becomes ('' = removed)
-- ARGV[3] the conv field `strat_attr` ('' = unchanged): per kind of event, the time (Unix ms) of the
-- newest one already attributed to a step (router/src/strategy_run.c, attribute())
-- ARGV[4] the conv field `strat_result` ('' = unchanged): the last step's result (segments' last_result)
-- ARGV[5] the conv field `opt_credit` ('' = unchanged): the contact optimizer's credit of the
-- debtor's last decision (32 hex chars; router/src/strategy_optimize.c)
-- ARGV[6...] audit entries (JSON), one XADD each: every step scheduled, skipped, stopped or ended
-- Returns 1 when written, 0 when the field had changed (an event held the step, or another
-- router decided first: the runner reads again).
local cur = redis.call('HGET', KEYS[1], 'strat') or ''
if cur ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'strat')
else
  redis.call('HSET', KEYS[1], 'strat', ARGV[2])
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'strat_attr', ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'strat_result', ARGV[4])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'opt_credit', ARGV[5])
end
for i = 6, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'ev', 'strategy', 'j', ARGV[i])
end
return 1
