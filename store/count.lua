-- One windowed counter step, atomically (core.request_budget.WindowCounter.count).
--
-- KEYS: 1 the counter (hash: w = window, v = value).
-- ARGV: 1 window, 2 add (may be negative), 3 at_least.
-- Returns the new value. A stored window older than ARGV[1] starts from 0; a newer one keeps counting
-- (windows never go back). Values are written as integer text so millisecond timestamps stay exact.

local KEY = KEYS[1]
local window, add, least = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])

local found = redis.call('TYPE', KEY)['ok']
if found ~= 'none' and found ~= 'hash' then
  return redis.error_reply('wrong_type ' .. KEY)
end

local stored = redis.call('HMGET', KEY, 'w', 'v')
local stored_window, value = tonumber(stored[1]), tonumber(stored[2]) or 0
if stored_window == nil or stored_window < window then
  stored_window, value = window, 0
end
if value < least then
  value = least
end
value = value + add
redis.call('HSET', KEY, 'w', string.format('%d', stored_window), 'v', string.format('%d', value))
return string.format('%d', value)
