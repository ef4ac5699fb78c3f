-- lib/queue_wait.lua — how long a queue's conversations have waited, included (by embed.cmake)
-- in floor_stats.lua (the supervisor floor) and floor_gauges.lua (/metrics): one reading of a
-- queue for both. The queue is ordered by priority, so the oldest wait is looked for among its
-- first 200 entries; a conversation counts while its state is still `queued`.
-- Returns the oldest wait (ms, 0 when nobody waits) and how many of those have an offer pending.
local function queue_wait(qk, now)
  local oldest, offered = 0, 0
  for _, d in ipairs(redis.call('ZRANGE', qk, 0, 199)) do
    local f = redis.call('HMGET', 'hilo:{d:' .. d .. '}:conv', 'esc_ms', 'offer_agent', 'state')
    if f[3] == 'queued' then
      local w = now - (tonumber(f[1] or now) or now)
      if w > oldest then oldest = w end
      if f[2] then offered = offered + 1 end
    end
  end
  return oldest, offered
end
