-- outbox_migrate.lua — one message of the dispatch index older routers kept
-- (hilo:outbox:<channel>, "<debtor>|<outbound id>" -> due ms) moved to its debtor's queue.
-- KEYS[1] hilo:{d:ID}:conv   KEYS[2] hilo:{d:ID}:oq:<channel>   KEYS[3] hilo:{d:ID}:odisp
-- KEYS[4] hilo:{d:ID}:out
-- ARGV[1] outbound id   ARGV[2] dispatch state JSON (lib/outbox.lua)
-- Idempotent: a message already queued (or no longer pending) is left as it is. The router then
-- marks the debtor in the partitioned index and removes the old entry (router/src/dispatch.c).
-- Returns 1 when queued now, 0 otherwise.
if not redis.call('HGET', KEYS[4], ARGV[1]) or redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
local seq = redis.call('HINCRBY', KEYS[1], 'out_seq', 1)
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2])
return 1
