import { LuaScript } from "../../../functions/services/lua-script.js";

/** How long usage per key per day stays readable (API Gateway keeps 90 days). */
export const usageRetentionDays = 90;

/**
 * Quota periods in Lua, from a UTC day number: `period(kind, day)` answers the first day and the
 * day after the last (kind 1 day, 2 week from Monday, 3 calendar month); the same bounds as
 * quota-periods.ts, checked against it in a test. Civil dates after Howard Hinnant's algorithms.
 */
export const periodLua = `
local function civil(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, doy - math.floor((153 * mp + 2) / 5) + 1
end
local function daysFromCivil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end
local function period(kind, day)
  if kind == 1 then return day, day + 1 end
  if kind == 2 then
    local start = math.floor((day + 3) / 7) * 7 - 3
    return start, start + 7
  end
  local y, m = civil(day)
  local start = daysFromCivil(y, m, 1)
  if m == 12 then return start, daysFromCivil(y + 1, 1, 1) end
  return start, daysFromCivil(y, m + 1, 1)
end
`;

/**
 * One decision over every bucket a request is subject to, atomically and on Redis's clock (TIME),
 * so gateway replicas share exact limits and none of them needs a synchronised clock.
 *
 * KEYS: the token buckets (hashes `t` tokens, `ts` microseconds), then the quota counter's base
 * key when there is a quota (the period's first day is appended), then the usage counter's base
 * key when the request is metered (the UTC day is appended).
 * ARGV: bucket count, then rate and burst per bucket, then quota limit (0: none), period
 * (1 day, 2 week, 3 month), offset, the second the quota was set (offset applies in its period),
 * then 1 when metered, then:
 * - `want`: how many requests ask at once (identical checks from one gateway gathered);
 * - `extra`: tokens the gateway would like to hold for its next requests (a lease, limiter.ts);
 * - `returned`, `used`, `returnDay`: what is left of its previous lease, granted on `returnDay`,
 *   given back to the buckets and the quota, and how many requests the lease served (usage).
 *
 * Admits as many of the `want` as every bucket and the quota allow, taking that many tokens; then,
 * if all were admitted and every limit keeps at least ten leases' worth, takes `extra` more.
 * Nothing is taken when none is admitted, so a refused request costs nothing.
 * Answers {allowed, kind (0 none, 1 throttle, 2 quota), limit, remaining, reset seconds,
 * retry-after seconds} of the refusing limit, or of the tightest one (for the first admitted)
 * when allowed; then how many were admitted, the limit refusing the rest {kind, limit, reset,
 * retry-after}, the lease granted, and the UTC day the tokens were taken on.
 */
const limiterLua = `
${periodLua}
local time = redis.call('TIME')
local second = tonumber(time[1])
local now = second * 1000000 + tonumber(time[2])
local day = math.floor(second / 86400)
local n = tonumber(ARGV[1])
local at = 2 * n + 2
local want = tonumber(ARGV[at + 5])
local extra = tonumber(ARGV[at + 6])
local returned = tonumber(ARGV[at + 7])
local used = tonumber(ARGV[at + 8])
local returnDay = tonumber(ARGV[at + 9])
local levels = {}
local refusal = nil
local best = nil
-- How many of the asking requests every limit admits, and the limit that admits the fewest.
local take = want
local short = nil
-- What every limit has left, for the lease.
local room = math.huge
local function cap(count, kind, limit, reset, retry)
  if count < take then
    take = count
    short = {kind, limit, reset, retry}
  end
end
local function consider(kind, limit, remaining, reset)
  if best == nil or remaining < best[3] or (remaining == best[3] and limit < best[2]) then
    best = {kind, limit, remaining, reset}
  end
end

for i = 1, n do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 't', 'ts')
  local level = burst
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    level = math.min(burst, tonumber(state[1]) + elapsed * rate / 1000000)
  end
  level = math.min(burst, level + returned)
  levels[i] = level
  room = math.min(room, level)
  if level < 1 then
    refusal = refusal or {0, 1, burst, 0, math.ceil((burst - level) / rate), math.max(1, math.ceil((1 - level) / rate))}
  else
    consider(1, burst, math.floor(level - 1), math.ceil((burst - level + 1) / rate))
    local fits = math.floor(level)
    cap(fits, 1, burst, math.ceil((burst - level + fits) / rate), math.max(1, math.ceil((1 - level + fits) / rate)))
  end
end

local quotaLimit = tonumber(ARGV[at])
local quotaKey = nil
local quotaUsed = 0
local quotaTtl = 0
local quotaBack = 0
local nextKey = n + 1
if quotaLimit > 0 then
  local kind = tonumber(ARGV[at + 1])
  local start, finish = period(kind, day)
  local setStart = period(kind, math.floor(tonumber(ARGV[at + 3]) / 86400))
  local limit = quotaLimit
  if setStart == start then limit = limit - tonumber(ARGV[at + 2]) end
  quotaKey = KEYS[nextKey] .. ':' .. start
  nextKey = nextKey + 1
  local reset = finish * 86400 - second
  quotaTtl = reset + 86400
  -- A lease taken in an earlier period was counted there, not here.
  if returned > 0 and period(kind, returnDay) == start then quotaBack = returned end
  quotaUsed = math.max(0, tonumber(redis.call('GET', quotaKey) or '0') - quotaBack)
  room = math.min(room, limit - quotaUsed)
  if quotaUsed >= limit then
    refusal = refusal or {0, 2, quotaLimit, 0, reset, reset}
  else
    consider(2, quotaLimit, limit - quotaUsed - 1, reset)
    cap(limit - quotaUsed, 2, quotaLimit, reset, reset)
  end
end

if refusal then take = 0 end
local granted = 0
if take == want and extra > 0 and room - take >= 10 * extra then granted = extra end
local charge = take + granted
if charge > 0 or returned > 0 then
  for i = 1, n do
    local burst = tonumber(ARGV[2 * i + 1])
    local rate = tonumber(ARGV[2 * i])
    redis.call('HSET', KEYS[i], 't', string.format('%.17g', levels[i] - charge), 'ts', string.format('%.0f', now))
    redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
  end
end
if quotaKey and (charge > 0 or quotaBack > 0) then
  redis.call('SET', quotaKey, quotaUsed + charge, 'EX', quotaTtl)
end
if tonumber(ARGV[at + 4]) == 1 and take + used > 0 then
  local usageKey = KEYS[nextKey] .. ':' .. day
  if redis.call('INCRBY', usageKey, take + used) == take + used then redis.call('EXPIRE', usageKey, ${usageRetentionDays} * 86400) end
end
if refusal then
  return {refusal[1], refusal[2], refusal[3], refusal[4], refusal[5], refusal[6], 0, 0, 0, 0, 0, 0, day}
end
short = short or {0, 0, 0, 0}
best = best or {0, 0, 0, 0}
return {1, best[1], best[2], best[3], best[4], 0, take, short[1], short[2], short[3], short[4], granted, day}
`;

export const limiterScript = new LuaScript(limiterLua);
