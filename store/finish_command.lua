-- Finish a pending operator command (applied or rejected, with its result).
--
-- KEYS: 1 command record (hash), 2 pending (zset). ARGV: 1 idempotency key, 2 status, 3 result (canonical JSON).
-- Returns {"wrong_type", key}, {"written"} when the command was pending, {"unknown"} when there is no such command, or
-- {"stored", status, result} when it was already finished (the caller decides no-op or refusal).

local RECORD, PENDING = KEYS[1], KEYS[2]

for _, check in ipairs({{RECORD, 'hash'}, {PENDING, 'zset'}}) do
  local found = redis.call('TYPE', check[1])['ok']
  if found ~= 'none' and found ~= check[2] then return {'wrong_type', check[1]} end
end

local stored = redis.call('HMGET', RECORD, 'status', 'result')
if not stored[1] then return {'unknown'} end
if stored[1] ~= 'pending' then return {'stored', stored[1], stored[2] or ''} end
redis.call('HSET', RECORD, 'status', ARGV[2], 'result', ARGV[3])
redis.call('ZREM', PENDING, ARGV[1])
return {'written'}
