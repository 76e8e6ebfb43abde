import { keptHoldMs } from "../policy/budgetStore.js";

/**
 * The Lua scripts of the client's Redis stores: each check-and-write is one script, atomic on the server. Every
 * script gets all its keys in `KEYS`, all under one hash tag (one ledger, or one set of budgets), so each runs on one
 * Redis Cluster slot. Amounts of windowed budgets are summed as Lua numbers (exact up to 2^53, which the store
 * checks); `total` budgets are `INCRBY` counters (64-bit integers).
 */

/**
 * Records a ledger entry: drops its slot from the pending and answered hashes, then keeps it as pending or answered
 * (trimming the oldest answered beyond the limit), or drops it. With a lease owner, only while that owner still
 * holds the request's lease (the fence: a process that lost its lease records nothing, so sends nothing).
 * KEYS: pending, answered, answered-by-time, lease. ARGV: slot, entry, mode (pending|answered|drop), updatedAt,
 * owner ('' for none), maxAnswered. Returns 1, or 0 when the lease is lost.
 */
const ledgerPut = `
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[5] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[3] == 'pending' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
elseif ARGV[3] == 'answered' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
  if extra > 0 then
    local old = redis.call('ZRANGE', KEYS[3], 0, extra - 1)
    for _, slot in ipairs(old) do redis.call('HDEL', KEYS[2], slot) end
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, extra - 1)
  end
end
return 1
`;

/** Extends a lease its owner still holds. KEYS: lease. ARGV: owner, ttlMs. Returns 1, or 0 when lost. */
const leaseRenew = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** Frees a lease its owner still holds. KEYS: lease. ARGV: owner. */
const leaseRelease = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * How far back windowed holds are pruned: two days (`keptHoldMs`) behind the caller's time, and never past two days
 * behind Redis's own clock, so one agent whose clock runs far ahead cannot erase the fleet's recent holds.
 */
const pruneHorizon = `
local function pruneHorizon(callerHorizon)
  local t = redis.call('TIME')
  local storeHorizon = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ${keptHoldMs}
  return string.format('%.0f', math.min(tonumber(callerHorizon), storeHorizon))
end
`;

/**
 * Sums one bucket at \`at\` into \`sum\`: a total bucket is a counter; a windowed one a sorted set of hold ids by
 * time (holds two days behind are pruned first), their amounts in KEYS[2].
 */
const bucketSum = `
local function bucketSum(key, window, since, horizon)
  if window == '' then return tonumber(redis.call('GET', key) or '0') end
  local old = redis.call('ZRANGEBYSCORE', key, '-inf', horizon)
  for _, id in ipairs(old) do
    redis.call('ZREM', key, id)
    local record = redis.call('HGET', KEYS[1], id)
    if record and cjson.decode(record).t[1] == nil then
      redis.call('HDEL', KEYS[1], id)
      redis.call('HDEL', KEYS[2], id)
    end
  end
  local ids = redis.call('ZRANGEBYSCORE', key, '(' .. since, '+inf')
  local sum = 0
  for i = 1, #ids, 500 do
    local amounts = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 499, #ids)))
    for _, amount in ipairs(amounts) do if amount then sum = sum + tonumber(amount) end end
  end
  return sum
end
`;

/**
 * Holds an amount in every bucket, or in none. KEYS: holds, amounts, bucket… ARGV: id, amount, at, horizon, then per
 * bucket: limit, window ('' for total), since. Returns {1} (held, or already held), or {0, index, remaining}.
 */
const budgetReserve = `${pruneHorizon}${bucketSum}
local id, amount = ARGV[1], tonumber(ARGV[2])
local horizon = pruneHorizon(ARGV[4])
if redis.call('HEXISTS', KEYS[1], id) == 1 then return {1} end
local n = #KEYS - 2
for i = 1, n do
  local limit = tonumber(ARGV[2 + 3 * i])
  local sum = bucketSum(KEYS[i + 2], ARGV[3 + 3 * i], ARGV[4 + 3 * i], horizon)
  if sum + amount > limit then
    local remaining = limit - sum
    if remaining < 0 then remaining = 0 end
    return {0, i - 1, remaining}
  end
end
local windowed, totals = {}, {}
for i = 1, n do
  local key = KEYS[i + 2]
  if ARGV[3 + 3 * i] == '' then
    redis.call('INCRBY', key, ARGV[2])
    totals[#totals + 1] = key
  else
    redis.call('ZADD', key, ARGV[3], id)
    windowed[#windowed + 1] = key
  end
end
redis.call('HSET', KEYS[1], id, cjson.encode({ w = windowed, t = totals }))
redis.call('HSET', KEYS[2], id, ARGV[2])
return {1}
`;

/**
 * Stops a hold counting in every bucket. KEYS: holds, amounts, then the buckets its record names (read first).
 * ARGV: id. Returns 1 (released, or unknown), or 0 when KEYS does not name the record's buckets.
 */
const budgetRelease = `
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return 1 end
local hold = cjson.decode(record)
local named = {}
for i = 3, #KEYS do named[KEYS[i]] = true end
for _, key in ipairs(hold.w) do if not named[key] then return 0 end end
for _, key in ipairs(hold.t) do if not named[key] then return 0 end end
local amount = redis.call('HGET', KEYS[2], ARGV[1])
for _, key in ipairs(hold.w) do redis.call('ZREM', key, ARGV[1]) end
for _, key in ipairs(hold.t) do redis.call('DECRBY', key, amount) end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

/** What each bucket holds. KEYS: holds, amounts, bucket… ARGV: horizon, then per bucket: window, since. */
const budgetUsed = `${pruneHorizon}${bucketSum}
local horizon = pruneHorizon(ARGV[1])
local sums = {}
for i = 1, #KEYS - 2 do
  sums[i] = string.format("%.0f", bucketSum(KEYS[i + 2], ARGV[2 * i], ARGV[1 + 2 * i], horizon))
end
return sums
`;

/** The scripts by name, with how many keys each takes (`undefined`: a variable number, given per call). */
export const clientScripts = {
  tollgateLedgerPut: { lua: ledgerPut, keys: 4 },
  tollgateLeaseRenew: { lua: leaseRenew, keys: 1 },
  tollgateLeaseRelease: { lua: leaseRelease, keys: 1 },
  tollgateBudgetReserve: { lua: budgetReserve, keys: undefined },
  tollgateBudgetRelease: { lua: budgetRelease, keys: undefined },
  tollgateBudgetUsed: { lua: budgetUsed, keys: undefined },
} as const;

/** A script's name. */
export type ClientScriptName = keyof typeof clientScripts;
