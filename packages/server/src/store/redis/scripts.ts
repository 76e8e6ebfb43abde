/**
 * The Redis store's Lua scripts: each check-and-write is one script, so it runs atomically on the server, and
 * each touches keys of one hash tag (one Cluster slot). Times are Unix seconds compared with the caller's
 * clock (`ARGV`), so every process agrees on expiry; `EXPIREAT` then lets Redis free the key.
 */

/** Decimal arithmetic on non-negative integer strings, so balances keep every digit of a `bigint`. */
const decimals = `
local function cmp(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local s = carry + (i > 0 and (a:byte(i) - 48) or 0) + (j > 0 and (b:byte(j) - 48) or 0)
    table.insert(out, 1, string.char(48 + s % 10))
    carry = math.floor(s / 10)
    i = i - 1
    j = j - 1
  end
  local r = table.concat(out):gsub('^0+', '')
  return r == '' and '0' or r
end
local function sub(a, b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local s = (a:byte(i) - 48) - borrow - (j > 0 and (b:byte(j) - 48) or 0)
    if s < 0 then s = s + 10; borrow = 1 else borrow = 0 end
    table.insert(out, 1, string.char(48 + s))
    i = i - 1
    j = j - 1
  end
  local r = table.concat(out):gsub('^0+', '')
  return r == '' and '0' or r
end
`;

/**
 * KEYS: claim. ARGV: state, owner, proofHash, idempotencyKey ('' none), expiresAt ('' permanent), now.
 * Returns {1} when claimed, else {0, state, owner, proofHash, idempotencyKey, movedAt}.
 */
export const claimScript = `
local v = redis.call('HMGET', KEYS[1], 'state', 'owner', 'proof_hash', 'idem', 'exp', 'moved')
if v[1] and (v[5] == '' or tonumber(v[5]) > tonumber(ARGV[6])) then
  return {0, v[1], v[2], v[3], v[4], v[6] or ''}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'owner', ARGV[2], 'proof_hash', ARGV[3], 'idem', ARGV[4], 'exp', ARGV[5], 'moved', ARGV[6])
if ARGV[5] ~= '' then redis.call('EXPIREAT', KEYS[1], ARGV[5]) end
return {1}
`;

/**
 * KEYS: claim. ARGV: from (comma-separated), to, '=owner' or '', '=newOwner' or '', now, '=proofHash' or '',
 * unmovedForSeconds or ''. A claim without 'moved' (written before it existed) is never stale.
 */
export const transitionClaimScript = `
local v = redis.call('HMGET', KEYS[1], 'state', 'owner', 'exp', 'proof_hash', 'moved')
if not v[1] then return 0 end
if v[3] ~= '' and tonumber(v[3]) <= tonumber(ARGV[5]) then return 0 end
local listed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == v[1] then listed = true end
end
if not listed then return 0 end
if ARGV[3] ~= '' and ('=' .. v[2]) ~= ARGV[3] then return 0 end
if ARGV[6] ~= '' and ('=' .. v[4]) ~= ARGV[6] then return 0 end
if ARGV[7] ~= '' and (not v[5] or tonumber(v[5]) + tonumber(ARGV[7]) > tonumber(ARGV[5])) then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'moved', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'owner', string.sub(ARGV[4], 2)) end
return 1
`;

/** KEYS: claim. ARGV: owner, now, states it may be released from (comma-separated). */
export const releaseClaimScript = `
local v = redis.call('HMGET', KEYS[1], 'owner', 'exp', 'state')
if v[1] ~= ARGV[1] or not (v[2] == '' or tonumber(v[2]) > tonumber(ARGV[2])) then return 0 end
for s in string.gmatch(ARGV[3], '[^,]+') do
  if s == v[3] then redis.call('DEL', KEYS[1]) return 1 end
end
return 0
`;

/** KEYS: token. ARGV: amount, expiresAt, retention seconds. Returns balance, expiresAt. */
export const creditScript = `${decimals}
local v = redis.call('HMGET', KEYS[1], 'balance', 'exp')
local balance = add(v[1] or '0', ARGV[1])
local exp = math.max(tonumber(v[2] or '0'), tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'balance', balance, 'exp', string.format('%d', exp))
redis.call('EXPIREAT', KEYS[1], string.format('%d', exp + tonumber(ARGV[3])))
return {balance, string.format('%d', exp)}
`;

/**
 * KEYS: token, operation. ARGV: amount, nowSeconds (the debit's), '1' with an operation key, the operation's
 * expiresAt, now. Returns {outcome, balance, expiresAt}.
 */
export const debitScript = `${decimals}
if ARGV[3] == '1' then
  local p = redis.call('HMGET', KEYS[2], 'balance', 'exp', 'until')
  if p[1] and tonumber(p[3]) > tonumber(ARGV[5]) then return {'replayed', p[1], p[2]} end
end
local t = redis.call('HMGET', KEYS[1], 'balance', 'exp')
if not t[1] then return {'unknown'} end
if tonumber(t[2]) <= tonumber(ARGV[2]) then return {'expired', t[1], t[2]} end
if cmp(t[1], ARGV[1]) < 0 then return {'insufficient', t[1], t[2]} end
local balance = sub(t[1], ARGV[1])
redis.call('HSET', KEYS[1], 'balance', balance)
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'balance', balance, 'exp', t[2], 'until', ARGV[4])
  redis.call('EXPIREAT', KEYS[2], ARGV[4])
end
return {'ok', balance, t[2]}
`;

/** KEYS: token, operation. ARGV: amount, '1' with an operation key. Returns {} or {balance, expiresAt}. */
export const refundScript = `${decimals}
if ARGV[2] == '1' then redis.call('DEL', KEYS[2]) end
local t = redis.call('HMGET', KEYS[1], 'balance', 'exp')
if not t[1] then return {} end
local balance = add(t[1], ARGV[1])
redis.call('HSET', KEYS[1], 'balance', balance)
return {balance, t[2]}
`;

/** The fields of an idempotency record, in the order the scripts answer them. */
const recordFields = `'state', 'owner', 'proof_hash', 'status', 'headers', 'body', 'exp'`;

/** KEYS: idempotency. ARGV: owner, proofHash, expiresAt, now. Returns {} when reserved, else the record. */
export const reserveResponseScript = `
local v = redis.call('HMGET', KEYS[1], ${recordFields})
if v[1] and tonumber(v[7]) > tonumber(ARGV[4]) then return v end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'in_flight', 'owner', ARGV[1], 'proof_hash', ARGV[2], 'exp', ARGV[3])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return {}
`;

/** KEYS: idempotency. ARGV: owner, state, proofHash, status, headers, body, expiresAt, now. */
export const finishResponseScript = `
local v = redis.call('HMGET', KEYS[1], 'state', 'owner', 'exp')
if v[1] ~= 'in_flight' or v[2] ~= ARGV[1] or tonumber(v[3]) <= tonumber(ARGV[8]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'proof_hash', ARGV[3], 'exp', ARGV[7])
if ARGV[2] == 'kept' then redis.call('HSET', KEYS[1], 'status', ARGV[4], 'headers', ARGV[5], 'body', ARGV[6]) end
redis.call('EXPIREAT', KEYS[1], ARGV[7])
return 1
`;

/** KEYS: idempotency. ARGV: owner, now. */
export const releaseResponseScript = `
local v = redis.call('HMGET', KEYS[1], 'state', 'owner', 'exp')
if v[1] == 'in_flight' and v[2] == ARGV[1] and tonumber(v[3]) > tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 0
`;

/** Every script, by the command name the store defines for it. */
/**
 * KEYS: the records stream. ARGV: maxRecords, then one JSON array holding each record's field/value strings. One
 * `XADD … MAXLEN ~` per record, in order: a batch of records costs the client one command with one argument.
 */
export const appendRecordsScript = `
for _, fields in ipairs(cjson.decode(ARGV[2])) do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
end
return 0`;

export const scripts = {
  tollgateClaim: { lua: claimScript, keys: 1 },
  tollgateTransitionClaim: { lua: transitionClaimScript, keys: 1 },
  tollgateReleaseClaim: { lua: releaseClaimScript, keys: 1 },
  tollgateCredit: { lua: creditScript, keys: 1 },
  tollgateDebit: { lua: debitScript, keys: 2 },
  tollgateRefund: { lua: refundScript, keys: 2 },
  tollgateReserveResponse: { lua: reserveResponseScript, keys: 1 },
  tollgateFinishResponse: { lua: finishResponseScript, keys: 1 },
  tollgateReleaseResponse: { lua: releaseResponseScript, keys: 1 },
  tollgateAppendRecords: { lua: appendRecordsScript, keys: 1 },
} as const;

/** A script's command name. */
export type ScriptName = keyof typeof scripts;
