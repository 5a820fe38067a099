-- Release a lease, only by its owner under its token (a clean stop hands the symbol over at once).
--
-- KEYS: 1 lease. ARGV: 1 runner id, 2 token. Returns 1 when released, 0 when it was not ours any more.

if redis.call('GET', KEYS[1]) == ARGV[1] .. '|' .. ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
