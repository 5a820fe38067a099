-- Give a reservation back (safety.shared_book): the entry was not sent, or its order was cancelled unfilled.
-- Its exposure, its order and its trade are no longer counted.
--
-- KEYS: 1 book, 2 reservation. Returns 1 when released, 0 when there was nothing reserved (already settled,
-- closed or released: a repeat is harmless).

local BOOK, RESV = KEYS[1], KEYS[2]
local r = redis.call('HMGET', RESV, 'state', 'notional', 'day')
if r[1] ~= 'reserved' then return 0 end
local b = redis.call('HMGET', BOOK, 'day', 'exposure', 'orders', 'trades')
local exposure = math.max((tonumber(b[2]) or 0) - tonumber(r[2]), 0)
redis.call('HSET', BOOK, 'exposure', string.format('%d', exposure))
if b[1] == r[3] then
  redis.call('HSET', BOOK, 'orders', math.max((tonumber(b[3]) or 0) - 1, 0),
             'trades', math.max((tonumber(b[4]) or 0) - 1, 0))
end
redis.call('DEL', RESV)
return 1
