-- settle_outbound.lua — record a delivery report for one outbound message.
-- KEYS[1] hilo:{d:ID}:out   KEYS[2] hilo:{d:ID}:ostat   KEYS[3] hilo:{d:ID}:oq:<channel>
-- KEYS[4] hilo:{d:ID}:odisp   (one debtor: one hash slot)
-- ARGV[1] outbound id   ARGV[2] status JSON, with "rank" (sent 1, delivered 2, read 3, failed 4)
-- and, for a report about one part of a message sent in parts, "part" and "parts"
-- ARGV[3] "1" when the report settles the message (a report about the whole message), "0" for
-- one about a single part of it
-- A settling report means the provider has taken the message (or refused it for good): it leaves
-- the pending hash and the debtor's queue and is never re-sent; the next message of the queue
-- may go (the router marks the debtor in the dispatch index when messages are left). A report
-- about one part updates that part, and the message's state follows its parts
-- (lib/delivery_state.lua).
-- ARGV[4] the reporting connector's group (its key's name in link_keys; '' = no check, link_auth
-- = none): while the message is pending, only a group it was handed to in some attempt
-- (outbound_handoff.lua 'take' keeps them in the dispatch state's `to`) may report on it.
-- Returns {1 when the status was recorded, 0 when nothing changed (reports arrive out of order:
-- "read" must not be overwritten by a late "delivered"), messages left in the queue, 1 when the
-- message is a strategy's step (the router then has the strategy runner look at the debtor)},
-- or {-1, 0, 0} for a report from a group the pending message was never handed to (nothing
-- changed).
-- @include delivery_state.lua
local group = ARGV[4] or ''
if group ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  local j = redis.call('HGET', KEYS[4], ARGV[1])
  local ok = false
  if j then
    for _, g in ipairs(cjson.decode(j).to or {}) do
      if g == group then ok = true end
    end
  end
  if not ok then return {-1, 0, 0} end
end
-- A strategy's step: its dispatch state says so while it is pending, its status ("strat":1)
-- once the first settling report removed that.
local strat = 0
local dj = redis.call('HGET', KEYS[4], ARGV[1])
local old = redis.call('HGET', KEYS[2], ARGV[1])
if (dj and string.find(dj, '"strat"', 1, true)) or (old and string.find(old, '"strat":1', 1, true)) then
  strat = 1
end
if ARGV[3] == '1' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
end
local left = redis.call('ZCARD', KEYS[3])
local status = delivery_state_merge(old, ARGV[2])
if not status then
  return {0, left, strat}
end
if strat == 1 and not string.find(status, '"strat":1', 1, true) then
  local t = cjson.decode(status)
  t.strat = 1
  status = cjson.encode(t)
end
redis.call('HSET', KEYS[2], ARGV[1], status)
return {1, left, strat}
