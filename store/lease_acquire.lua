-- Acquire a symbol's lease, atomically with a new fencing token (safety.leases).
--
-- KEYS: 1 lease (string "runner|token", with an expiry), 2 fence (the symbol's token counter, never expires),
--       3 last holder (string, never expires: who to take the symbol's position records over from).
-- ARGV: 1 runner id, 2 ttl in milliseconds.
-- Returns {"acquired", token, previous holder or ""} when the symbol was free (the counter went up by one), else
-- {"taken", holder value, pttl}. A runner never re-acquires its own live lease here: a restarted runner waits
-- for its old lease to expire, since the old process may still be alive (paused) and must stay fenced out.

local LEASE, FENCE, LAST = KEYS[1], KEYS[2], KEYS[3]
local holder = redis.call('GET', LEASE)
if holder then
  return {'taken', holder, redis.call('PTTL', LEASE)}
end
local token = redis.call('INCR', FENCE)
redis.call('SET', LEASE, ARGV[1] .. '|' .. token, 'NX', 'PX', ARGV[2])
local previous = redis.call('GET', LAST) or ''
redis.call('SET', LAST, ARGV[1])
return {'acquired', token, previous}
