-- Submit an operator command once per idempotency key; the first submission is the one kept.
--
-- KEYS: 1 command record (hash), 2 commands (stream, the submission log), 3 pending (zset by seq),
--       4 last command seq (string).
-- ARGV: 1 idempotency key, 2 fingerprint (canonical kind + args), 3 command (canonical JSON).
-- Returns {"accepted" | "stored", seq, command, fingerprint, status, result or ""} | {"wrong_type", key}
--       | {"stream_ahead", error}. The caller decides "duplicate" or "already_decided" from the fingerprints.

local RECORD, LOG, PENDING, LAST = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function wrong_type(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found ~= 'none' and found ~= want
end

for _, check in ipairs({{RECORD, 'hash'}, {LOG, 'stream'}, {PENDING, 'zset'}, {LAST, 'string'}}) do
  if wrong_type(check[1], check[2]) then return {'wrong_type', check[1]} end
end

local stored = redis.call('HMGET', RECORD, 'seq', 'command', 'fp', 'status', 'result')
if stored[1] then
  return {'stored', stored[1], stored[2], stored[3], stored[4], stored[5] or ''}
end

local seq = (tonumber(redis.call('GET', LAST)) or 0) + 1
local added = redis.pcall('XADD', LOG, seq .. '-0', 'key', ARGV[1], 'command', ARGV[3])
if type(added) == 'table' and added['err'] then return {'stream_ahead', added['err']} end
redis.call('SET', LAST, seq)
redis.call('HSET', RECORD, 'seq', seq, 'command', ARGV[3], 'fp', ARGV[2], 'status', 'pending')
redis.call('ZADD', PENDING, seq, ARGV[1])
return {'accepted', seq, ARGV[3], ARGV[2], 'pending', ''}
