-- Acquire a symbol's lease, atomically with a new fencing token (safety.leases).
--
-- KEYS: 1 lease (string "runner|token", with an expiry), 2 fence (the symbol's token counter, never expires).
-- ARGV: 1 runner id, 2 ttl in milliseconds.
-- Returns {"acquired", token} when the symbol was free (the counter went up by one), else
-- {"taken", holder value, pttl}. A runner never re-acquires its own live lease here: a restarted runner waits
-- for its old lease to expire, since the old process may still be alive (paused) and must stay fenced out.

local LEASE, FENCE = KEYS[1], KEYS[2]
local holder = redis.call('GET', LEASE)
if holder then
  return {'taken', holder, redis.call('PTTL', LEASE)}
end
local token = redis.call('INCR', FENCE)
redis.call('SET', LEASE, ARGV[1] .. '|' .. token, 'NX', 'PX', ARGV[2])
return {'acquired', token}
