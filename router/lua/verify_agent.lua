-- verify_agent.lua — an agent checks the debtor's identity before disclosing anything
-- (router/src/console/identity_check.c): the debtor tells the agent their document number, the
-- agent types it, and its last 4 digits are compared here with the portfolio's document_last4,
-- which the agent never sees. One debtor: one hash slot.
-- KEYS[1] hilo:{d:ID}:conv   KEYS[2] hilo:{d:ID}:debtor   KEYS[3] hilo:{d:ID}:audit
-- ARGV[1] the agent   ARGV[2] the digits typed (4 to 12)   ARGV[3] now (Unix ms)
-- ARGV[4] failed checks allowed before the check is locked for the conversation
-- Returns {1, 'verified'} | {1, 'already'} | {0, code[, attempts left]}: not_assigned,
-- no_document (nothing on file to compare with), verify_locked, verify_mismatch.
-- A match writes the conversation's verified_ms (what the bot writes: the debtor panel, the
-- strategies' "verified" and the disclosure rules read it) and audits `verified` with by = the
-- agent; a mismatch audits `verify_failed` and counts toward the lock (agent_verify_fails,
-- cleared by a match).
-- @include conv_rev.lua
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'verified_ms', 'agent_verify_fails')
if c[1] ~= 'assigned' or c[2] ~= ARGV[1] then return {0, 'not_assigned'} end
if (tonumber(c[3] or '0') or 0) > 0 then return {1, 'already'} end
local fails, max = tonumber(c[4] or '0') or 0, tonumber(ARGV[4])
if fails >= max then return {0, 'verify_locked'} end
local want = redis.call('HGET', KEYS[2], 'document_last4')
if not want or not string.match(want, '^%d%d%d%d$') then return {0, 'no_document'} end
local now = ARGV[3]
if string.sub(ARGV[2], -4) == want then
  redis.call('HSET', KEYS[1], 'verified_ms', now, 'agent_verify_fails', 0, 'updated_ms', now)
  conv_rev_bump(KEYS[1])
  redis.call('XADD', KEYS[3], '*', 'ev', 'verified', 'j', cjson.encode({by = ARGV[1], how = 'agent', ms = tonumber(now)}))
  return {1, 'verified'}
end
fails = fails + 1
redis.call('HSET', KEYS[1], 'agent_verify_fails', fails)
redis.call('XADD', KEYS[3], '*', 'ev', 'verify_failed', 'j', cjson.encode({by = ARGV[1], attempt = fails, max = max}))
return {0, fails >= max and 'verify_locked' or 'verify_mismatch', max - fails}
