-- freq_cap.lua — rolling-window frequency cap for one debtor on one channel, atomically.
-- KEYS[1] hilo:{d:ID}:contacts:<channel>   ZSET attempt id -> attempt time (Unix ms)
-- ARGV[1] now (Unix ms)   ARGV[2] window (ms)   ARGV[3] limit (attempts per window, >= 1)
-- ARGV[4] attempt id (the outbound id: unique per attempt)
-- Returns contact_cap's answer (lib/contact_cap.lua): {1, n, 0} allowed, {0, n, next ms} blocked.
-- Why a script: the count and the record must be one step, or two routers checking the same
-- debtor at once could both see limit-1 and both send. The hand-off check
-- (outbound_handoff.lua) counts through the same function, so a message is counted once.
-- @include contact_cap.lua
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if not now or not window or not limit or window <= 0 or limit < 1 then
  return redis.error_reply('ERR freq_cap: bad arguments')
end
return contact_cap(KEYS[1], now, window, limit, ARGV[4])
