-- schema_stamp.lua — writes the schema version of hilo's data in Redis, compare-and-set
-- (router/include/hilo/schema.h): the router stamps a fresh Redis, `hilo migrate` each step.
-- KEYS[1] hilo:{schema}   (HASH version, at_ms, by)
-- ARGV[1] the version the caller read ('' = no key: a fresh Redis, or data older than the key)
-- ARGV[2] the version it becomes   ARGV[3] who writes it (program, version, host)
-- Returns the version stored afterwards ('' = none): ARGV[2] when written, else what another
-- program wrote meanwhile (the caller reads again). at_ms is Redis's own clock.
local cur = redis.call('HGET', KEYS[1], 'version') or ''
if cur ~= ARGV[1] then
  return cur
end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'at_ms', tostring(ms), 'by', ARGV[3])
return ARGV[2]
