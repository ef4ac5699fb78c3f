-- strategy_read.lua — what the strategy runner (router/src/strategy_run.c) reads to decide about
-- one debtor, in one round trip and one consistent view. Read only.
-- KEYS[1] hilo:{d:ID}:debtor   KEYS[2] hilo:{d:ID}:conv   KEYS[3] hilo:{d:ID}:consent
-- KEYS[4] hilo:{d:ID}:promises   KEYS[5] hilo:{d:ID}:payments   KEYS[6] hilo:{d:ID}:ostat
-- KEYS[7] hilo:{d:ID}:turnq
-- Returns {debtor, conv, consent, promises, payments} (each as HGETALL answers it), then the
-- delivery status of the step the debtor's strategy field names (lib/strategy_state.lua; '' when
-- none), then how many engine turns of the debtor are pending.
-- @include strategy_state.lua
local conv = redis.call('HGETALL', KEYS[2])
local status = ''
local s = redis.call('HGET', KEYS[2], 'strat')
if s then
  local oid = strat_split(s)[9]
  if oid and oid ~= '' then status = redis.call('HGET', KEYS[6], oid) or '' end
end
return {redis.call('HGETALL', KEYS[1]), conv, redis.call('HGETALL', KEYS[3]), redis.call('HGETALL', KEYS[4]),
        redis.call('HGETALL', KEYS[5]), status, redis.call('ZCARD', KEYS[7])}
