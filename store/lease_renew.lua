-- Renew a lease, only by its owner under its token (safety.leases).
--
-- KEYS: 1 lease. ARGV: 1 runner id, 2 token, 3 ttl in milliseconds.
-- Returns 1 when renewed, 0 when the lease expired or belongs to someone else (lost: stop trading the symbol).

if redis.call('GET', KEYS[1]) == ARGV[1] .. '|' .. ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
