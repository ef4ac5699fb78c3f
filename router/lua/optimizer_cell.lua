-- optimizer_cell.lua — adds counts into one segment cell's model of the contact optimizer
-- (router/src/strategy_optimize.c; docs/optimizer.md "In the router"). One cell, one slot.
-- KEYS[1] hilo:{o:<cell>}:model   the packed cell (hilo_opt_cell_pack: 'H','O',version,0, then
--                                  138 little-endian floats; 556 bytes)
-- ARGV[1] the cell version byte (created as zeros when absent)
-- ARGV[2...] pairs: float index (0..137), what to add
-- A model of the wrong size is left alone (the router logs it; `hilo optimizer show` reports it).
-- Returns 1 when added, 0 when the model was unusable.
local n = 138
local m = redis.call('GET', KEYS[1])
if not m then
  m = 'HO' .. string.char(tonumber(ARGV[1]), 0) .. string.rep('\0', 4 * n)
  redis.call('SET', KEYS[1], m)
end
if #m ~= 4 + 4 * n then
  return 0
end
for i = 2, #ARGV - 1, 2 do
  local k = tonumber(ARGV[i])
  local by = tonumber(ARGV[i + 1])
  if k and by and k >= 0 and k < n then
    local off = 4 + 4 * k
    local v = struct.unpack('<f', redis.call('GETRANGE', KEYS[1], off, off + 3))
    redis.call('SETRANGE', KEYS[1], off, struct.pack('<f', v + by))
  end
end
return 1
