-- lib/queue_wait.lua — how long a queue's conversations have waited, included (by embed.cmake)
-- in floor_stats.lua (the supervisor floor) and floor_gauges.lua (/metrics): one reading of a
-- queue for both. The queue is ordered by priority, so the oldest wait is looked for among its
-- first 200 entries; a conversation counts while its state is still `queued`.
-- Returns the oldest wait (ms, 0 when nobody waits), how many of those have an offer pending,
-- and how many of those are callers on the line (a voice conversation whose call is live: the
-- same test as the supervisor's calls view, router/src/console/drill.c).
local function queue_wait(qk, now)
  local oldest, offered, calls = 0, 0, 0
  for _, d in ipairs(redis.call('ZRANGE', qk, 0, 199)) do
    local f = redis.call('HMGET', 'hilo:{d:' .. d .. '}:conv', 'esc_ms', 'offer_agent', 'state', 'last_channel',
                         'call_live')
    if f[3] == 'queued' then
      local w = now - (tonumber(f[1] or now) or now)
      if w > oldest then oldest = w end
      if f[2] then offered = offered + 1 end
      if f[4] == 'voice' and f[5] and f[5] ~= '' then calls = calls + 1 end
    end
  end
  return oldest, offered, calls
end

-- The calls agent `a` is on now: conversations assigned to them on voice whose call is live.
-- Only worth reading for an agent whose voice load is not 0.
local function agent_calls(a)
  local n = 0
  for _, d in ipairs(redis.call('SMEMBERS', 'hilo:agent:' .. a .. ':convs')) do
    local f = redis.call('HMGET', 'hilo:{d:' .. d .. '}:conv', 'state', 'agent_ch', 'call_live')
    if f[1] == 'assigned' and f[2] == 'voice' and f[3] and f[3] ~= '' then n = n + 1 end
  end
  return n
end
