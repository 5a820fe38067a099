-- One store transaction, atomically: compare-and-set on every document, then the journal append.
--
-- KEYS: 1 journal head (hash: seq, hash), 2 journal (stream), 3 index of live document keys (zset),
--       4.. one document hash (v = version, d = canonical JSON value; no d = deleted) per write.
-- ARGV: 1 head seq and 2 head hash as the caller read them ("0" and "" when absent),
--       3 number of writes, then per write: op ("set" | "del"), expected version ("" = unconditional),
--         value (canonical JSON, "" for del), document key name (for the index),
--       then number of events, then per event: seq, at, kind, payload, prev_hash, hash.
-- Returns {"ok", version per write} | {"conflict", write index, actual version} | {"head_moved"}
--       | {"wrong_type", key} | {"stream_ahead", error}.
--
-- A Lua error after a write would leave that write in place, so every check runs before the first write,
-- and the only write that can still fail (the first XADD, if someone added entries by hand) is the first
-- write of all and runs under pcall.

local HEAD, JOURNAL, INDEX = KEYS[1], KEYS[2], KEYS[3]

local function wrong_type(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found ~= 'none' and found ~= want
end

for _, check in ipairs({{HEAD, 'hash'}, {JOURNAL, 'stream'}, {INDEX, 'zset'}}) do
  if wrong_type(check[1], check[2]) then return {'wrong_type', check[1]} end
end

local n_writes = tonumber(ARGV[3])
local stored_version, live = {}, {}
for i = 1, n_writes do
  local key, base = KEYS[3 + i], 3 + (i - 1) * 4
  if wrong_type(key, 'hash') then return {'wrong_type', key} end
  local fields = redis.call('HMGET', key, 'v', 'd')
  stored_version[i] = tonumber(fields[1]) or 0
  live[i] = fields[2] ~= false
  local actual = live[i] and stored_version[i] or 0
  local expected = ARGV[base + 2]
  if expected ~= '' and tonumber(expected) ~= actual then return {'conflict', i, actual} end
end

local events_at = 4 + n_writes * 4
local n_events = tonumber(ARGV[events_at])
if n_events > 0 then
  local head = redis.call('HMGET', HEAD, 'seq', 'hash')
  if (head[1] or '0') ~= ARGV[1] or (head[2] or '') ~= ARGV[2] then return {'head_moved'} end
end

-- Every check passed: write.
for j = 1, n_events do
  local b = events_at + (j - 1) * 6
  local id = ARGV[b + 1] .. '-0'
  local fields = {'at', ARGV[b + 2], 'kind', ARGV[b + 3], 'payload', ARGV[b + 4], 'prev_hash', ARGV[b + 5],
                  'hash', ARGV[b + 6]}
  if j == 1 then
    local added = redis.pcall('XADD', JOURNAL, id, unpack(fields))
    if type(added) == 'table' and added['err'] then return {'stream_ahead', added['err']} end
  else
    redis.call('XADD', JOURNAL, id, unpack(fields))
  end
  if j == n_events then redis.call('HSET', HEAD, 'seq', ARGV[b + 1], 'hash', ARGV[b + 6]) end
end

local reply = {'ok'}
for i = 1, n_writes do
  local key, base = KEYS[3 + i], 3 + (i - 1) * 4
  local name = ARGV[base + 4]
  if ARGV[base + 1] == 'set' then
    local version = stored_version[i] + 1
    redis.call('HSET', key, 'v', version, 'd', ARGV[base + 3])
    redis.call('ZADD', INDEX, 0, name)
    reply[#reply + 1] = version
  else
    if live[i] then
      redis.call('HDEL', key, 'd')
      redis.call('ZREM', INDEX, name)
    end
    reply[#reply + 1] = 0
  end
end
return reply
