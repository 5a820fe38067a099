-- Settle a reservation (safety.shared_book): on the entry's fill, its exposure becomes what was filled; on the
-- position's close, its exposure leaves the book and its P&L joins the day's (a loss past the limit opens the
-- account-wide trading breaker).
--
-- KEYS: 1 book, 2 reservation.
-- ARGV: 1 "fill" | "close", 2 filled notional (fill) or realized P&L (close; signed), 3 day (yyyymmdd),
--       4 daily loss limit.
-- Returns {"ok", exposure after} | {"unknown"} (nothing reserved under this id: settled or closed before).

local BOOK, RESV = KEYS[1], KEYS[2]
local r = redis.call('HMGET', RESV, 'state', 'notional')
if not r[1] then return {'unknown'} end
local b = redis.call('HMGET', BOOK, 'day', 'exposure', 'pnl')
local exposure = tonumber(b[2]) or 0
local amount = tonumber(ARGV[2])

if ARGV[1] == 'fill' then
  exposure = math.max(exposure - tonumber(r[2]) + amount, 0)
  redis.call('HSET', RESV, 'state', 'open', 'notional', string.format('%d', amount))
  redis.call('HSET', BOOK, 'exposure', string.format('%d', exposure))
  return {'ok', string.format('%d', exposure)}
end

exposure = math.max(exposure - tonumber(r[2]), 0)
local pnl = tonumber(b[3]) or 0
if b[1] ~= ARGV[3] then
  pnl = 0
  redis.call('HSET', BOOK, 'day', ARGV[3], 'orders', 0, 'trades', 0)
end
pnl = pnl + amount
redis.call('HSET', BOOK, 'exposure', string.format('%d', exposure), 'pnl', string.format('%d', pnl))
if -pnl >= tonumber(ARGV[4]) then redis.call('HSET', BOOK, 'breaker', 'daily loss limit reached') end
redis.call('DEL', RESV)
return {'ok', string.format('%d', exposure)}
