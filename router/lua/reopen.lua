-- reopen.lua — a closed conversation whose debtor writes again within the reopen window goes
-- back to its queue, marked "reopened"; stickiness (route_offer.lua) then offers it to the
-- agent who closed it first. Run (router/src/console/routing.c) by the router that committed
-- the message, for the debtors commit_inbound.lua found closed (status 2); idempotent, so a
-- debtor passed twice changes nothing. Bumps the conv `rev`, so an engine turn for that same
-- message re-reads the conversation and leaves it to the agent.
-- KEYS: none declared (global keys: single Redis, see docs/architecture.md).
-- ARGV[1] now (Unix ms)  ARGV[2] reopen window (ms)  ARGV[3..] debtor ids
-- Returns {the number of conversations reopened, {queue, score, ...}: the satisfaction answers
-- recorded} — their per-queue totals are the caller's step (hilo:{q:<queue>}:csat, its own slot).
-- The debtor's one message since the close may instead answer the satisfaction question that
-- console/system_msg.c asked (conv csat_asked): a digit 1 to 5 is recorded (conv csat, csat_ms;
-- audit csat; the caller adds it to hilo:{q:<queue>}:csat, read by the floor) and the conversation stays
-- closed; the message then counts as before the close (closed_in), so it reopens nothing later.
-- @include conv_rev.lua
-- @include strategy_state.lua
local now = tonumber(ARGV[1])
local function csat_answer(d, ck, f)
  if not redis.call('HGET', ck, 'csat_asked') or not f[7] then return nil end
  if (tonumber(f[6] or '0') or 0) ~= (tonumber(f[7]) or 0) + 1 then return nil end
  local last = redis.call('XREVRANGE', 'hilo:{d:' .. d .. '}:hist', '+', '-', 'COUNT', 1)[1]
  local ok, item = pcall(cjson.decode, last and last[2][2] or '')
  if not ok or type(item) ~= 'table' or item.dir ~= 'in' or type(item.text) ~= 'string' then return nil end
  local score = string.match(item.text, '^%s*([1-5])%s*$')
  if not score then return nil end
  local q = f[4] or ''
  redis.call('HSET', ck, 'csat', score, 'csat_ms', now, 'closed_in', f[6])
  redis.call('HDEL', ck, 'csat_asked')
  redis.call('XADD', 'hilo:{d:' .. d .. '}:audit', '*', 'ev', 'csat',
             'j', cjson.encode({ms = now, queue = q, score = tonumber(score)}))
  return q, score
end
local window = tonumber(ARGV[2])
local n = 0
local csat = {}
for i = 3, #ARGV do
  local d = ARGV[i]
  local closed = redis.call('ZSCORE', 'hilo:closed', d)
  if closed then
    local ck = 'hilo:{d:' .. d .. '}:conv'
    local f = redis.call('HMGET', ck, 'state', 'closed_ms', 'last_in_ms', 'queue', 'esc_priority', 'msgs_in',
                         'closed_in')
    local closed_ms = tonumber(f[2] or '0') or 0
    -- A message after the close: the inbound count grew past the one the close recorded
    -- (agent_ops.lua). Conversations closed before closed_in existed compare times, a tie
    -- counting as after: a message is never left to nobody.
    local after
    if f[7] then
      after = (tonumber(f[6] or '0') or 0) > (tonumber(f[7]) or 0)
    else
      after = (tonumber(f[3] or '0') or 0) >= closed_ms
    end
    local open = f[1] == 'closed' and now - closed_ms <= window
    local cq, cscore
    if open and after then cq, cscore = csat_answer(d, ck, f) end
    if not open then
      redis.call('ZREM', 'hilo:closed', d)
    elseif cq then
      csat[#csat + 1] = cq
      csat[#csat + 1] = cscore
      redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', 'csat', 'a', '', 'd', d)
    elseif after and f[4] and f[4] ~= '' then
      local prio = tonumber(f[5] or '0') or 0
      redis.call('HSET', ck, 'state', 'queued', 'esc_reason', 'reopened', 'esc_detail', '', 'esc_ms', now,
                 'updated_ms', now)
      redis.call('HDEL', ck, 'csat_asked')
      conv_rev_bump(ck)
      strat_hold(ck, 'agent')
      redis.call('ZADD', 'hilo:queue:' .. f[4], now - prio * 60000, d)
      redis.call('SADD', 'hilo:queues', f[4])
      redis.call('ZREM', 'hilo:closed', d)
      redis.call('XADD', 'hilo:{d:' .. d .. '}:audit', '*', 'ev', 'reopened',
                 'j', cjson.encode({ms = now, queue = f[4]}))
      redis.call('XADD', 'hilo:console:events', 'MAXLEN', '~', 10000, '*', 'k', 'queue', 'a', '', 'd', d)
      n = n + 1
    end
  end
end
return {n, csat}
