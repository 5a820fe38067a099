-- The fence before an order-side write: is this runner's token still the symbol's current one, under a live
-- lease it holds? (safety.leases; checked right before each broker call that places or cancels an order.)
--
-- KEYS: 1 lease, 2 fence. ARGV: 1 runner id, 2 token.
-- Returns {"ok"} or {"stale", current token, holder value or ""}.

local LEASE, FENCE = KEYS[1], KEYS[2]
local current = redis.call('GET', FENCE) or '0'
local holder = redis.call('GET', LEASE) or ''
if current == ARGV[2] and holder == ARGV[1] .. '|' .. ARGV[2] then
  return {'ok'}
end
return {'stale', current, holder}
