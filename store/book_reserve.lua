-- Reserve an entry against the account-wide book of several runners, atomically (safety.shared_book).
-- The commit point right before an entry is sent: two runners approving at the same instant cannot both pass
-- a cap only one fits under, because the check and the increment are one script.
--
-- KEYS: 1 book (hash: day, exposure, orders, trades, pnl, breaker), 2 reservation (hash: runner, notional,
--       state, day).
-- ARGV: 1 runner, 2 notional, 3 exposure cap, 4 day (yyyymmdd), 5 orders per day, 6 trades per day,
--       7 daily loss limit (money in integer micro-units of the quote asset).
-- Returns {"ok", exposure after} | {"exists", state} (idempotent: the same reservation twice reserves once)
--       | {"refused", code, detail}. Codes: trading_breaker_open, daily_loss, trades_cap, daily_order_cap,
--       exposure_cap.

local BOOK, RESV = KEYS[1], KEYS[2]
local state = redis.call('HGET', RESV, 'state')
if state then return {'exists', state} end

local b = redis.call('HMGET', BOOK, 'day', 'exposure', 'orders', 'trades', 'pnl', 'breaker')
local day = ARGV[4]
local exposure = tonumber(b[2]) or 0
local orders, trades, pnl = tonumber(b[3]) or 0, tonumber(b[4]) or 0, tonumber(b[5]) or 0
if b[1] ~= day then orders, trades, pnl = 0, 0, 0 end
local notional = tonumber(ARGV[2])

if b[6] and b[6] ~= '' then return {'refused', 'trading_breaker_open', b[6]} end
if -pnl >= tonumber(ARGV[7]) then return {'refused', 'daily_loss', string.format('%d', pnl)} end
if trades + 1 > tonumber(ARGV[6]) then return {'refused', 'trades_cap', string.format('%d', trades)} end
if orders + 1 > tonumber(ARGV[5]) then return {'refused', 'daily_order_cap', string.format('%d', orders)} end
if exposure + notional > tonumber(ARGV[3]) then
  return {'refused', 'exposure_cap', string.format('%d', exposure)}
end

exposure = exposure + notional
redis.call('HSET', BOOK, 'day', day, 'exposure', string.format('%d', exposure), 'orders', orders + 1,
           'trades', trades + 1, 'pnl', string.format('%d', pnl))
redis.call('HSET', RESV, 'runner', ARGV[1], 'notional', string.format('%d', notional), 'state', 'reserved',
           'day', day)
return {'ok', string.format('%d', exposure)}
