"""Lua for the storage quotas (bot.storage.quota runs these; its docstring describes the
sets and sums they keep). Every quota key shares the hash tag {quota}, so each script runs
within one Redis Cluster slot.
"""

# The quota keys live as long as the longest expiry (30 days) and a day, and the retention
# after it, renewed by each reservation and each move to `kept`: every secret they hold
# has expired, and every metadata they count has gone, by then.
KEYS_SECONDS = 31 * 86400
# Two sizes are packed below a time in one sorted-set score, each in units of SIZE_UNIT
# bytes (rounded up) below SIZE_PART units: `time * SIZE_SPAN + kept * SIZE_PART + rest`.
# A secret's metadata never takes 32 KB (~18 KB with 128 recipients), nor its ciphertext
# (~12 KB); time * SIZE_SPAN stays exact in a double until the year 2250.
SIZE_UNIT = 32
SIZE_PART = 1 << 10
SIZE_SPAN = SIZE_PART * SIZE_PART

_COMMON = """
local SPAN, PART, UNIT = """ + f"{SIZE_SPAN}, {SIZE_PART}, {SIZE_UNIT}" + """
local function int(n) return string.format('%d', n) end
-- A sum that comes back to nothing leaves no field (and an owner with none, no key).
local function add(sums, field, delta)
  if redis.call('HINCRBY', sums, field, delta) <= 0 then redis.call('HDEL', sums, field) end
end
local caps = {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}
local now, keep = tonumber(ARGV[7]), tonumber(ARGV[8])
local keys_ms = (""" + str(KEYS_SECONDS) + """ + keep) * 1000
-- A score's time, and the two sizes packed below it (kept, rest) in units.
local function parts(score)
  local low = tonumber(score) % SPAN
  return (tonumber(score) - low) / SPAN, math.floor(low / PART), low % PART
end
local function renew(...)
  for _, key in ipairs({...}) do redis.call('PEXPIRE', key, keys_ms) end
end
-- An ended secret's metadata part, counted until `leave` (replacing an older entry for
-- the same handle, which a reused handle could have left).
local function keep_part(kept, sizes, totals, name, leave, units)
  local old = redis.call('ZSCORE', kept, name)
  if old then
    local _, _, gone = parts(old)
    add(sizes, '*', -gone * UNIT)
    add(totals, '*', -gone * UNIT)
  end
  redis.call('ZADD', kept, int(leave * SPAN + units), name)
end
-- A sender's earliest time in either set goes to the workspace's set of senders (or the
-- sender leaves it).
local function first_time(set)
  local first = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if #first == 0 then return nil end
  return (parts(first[2]))
end
local function reindex(held, kept, senders, owner)
  local a, b = first_time(held), first_time(kept)
  local first = (a and b) and math.min(a, b) or a or b
  if first then redis.call('ZADD', senders, int(first), owner)
  else redis.call('ZREM', senders, owner) end
end
local function ratio_of(count, bytes, max_count, max_bytes)
  local ratio = 0
  if max_count > 0 then ratio = count / max_count end
  if max_bytes > 0 then ratio = math.max(ratio, bytes / max_bytes) end
  return ratio
end
local function sender_use(held, sizes)
  return redis.call('ZCARD', held), tonumber(redis.call('HGET', sizes, '*') or '0')
end
local function workspace_use(totals)
  local sums = redis.call('HMGET', totals, 'n', '*')
  return tonumber(sums[1] or '0'), tonumber(sums[2] or '0')
end
local function note(board, owner, ratio)
  if ratio > 0 then redis.call('ZADD', board, ratio, owner)
  else redis.call('ZREM', board, owner) end
end
-- What is due for one sender: secrets whose expiry time has come end (their metadata's
-- part stays, until `keep` seconds after that time); metadata parts whose time has come
-- leave. Both owners' sums follow.
local function prune(held, kept, sizes, senders, totals, owner)
  local bound = '(' .. int((now + 1) * SPAN)
  local gone = redis.call('ZRANGEBYSCORE', held, '-inf', bound, 'WITHSCORES')
  if #gone > 0 then
    local freed = 0
    redis.call('ZREMRANGEBYSCORE', held, '-inf', bound)
    for i = 1, #gone, 2 do
      local at, meta, rest = parts(gone[i + 1])
      freed = freed + rest
      keep_part(kept, sizes, totals, gone[i], at + keep, meta)
    end
    add(sizes, '*', -freed * UNIT)
    add(totals, '*', -freed * UNIT)
    add(totals, 'n', -(#gone / 2))
    renew(held, kept, sizes, senders, totals)
  end
  gone = redis.call('ZRANGEBYSCORE', kept, '-inf', bound, 'WITHSCORES')
  if #gone > 0 then
    local freed = 0
    for i = 2, #gone, 2 do freed = freed + tonumber(gone[i]) % SPAN end
    redis.call('ZREMRANGEBYSCORE', kept, '-inf', bound)
    add(sizes, '*', -freed * UNIT)
    add(totals, '*', -freed * UNIT)
  end
  reindex(held, kept, senders, owner)
  -- The metric's board follows a sender who has not shared since.
  local count, bytes = sender_use(held, sizes)
  note(KEYS[6], owner, ratio_of(count, bytes, caps[1], caps[2]))
end
-- Every sender of the workspace with something due (by name: the same {quota} slot).
local function prune_due(senders, totals, held_of, kept_of, sizes_of)
  for _, owner in ipairs(redis.call('ZRANGEBYSCORE', senders, '-inf', now)) do
    prune(string.format(held_of, owner), string.format(kept_of, owner),
          string.format(sizes_of, owner), senders, totals, owner)
  end
end
local function settle()
  local count, bytes = sender_use(KEYS[1], KEYS[3])
  note(KEYS[6], ARGV[1], ratio_of(count, bytes, caps[1], caps[2]))
  count, bytes = workspace_use(KEYS[5])
  note(KEYS[7], ARGV[2], ratio_of(count, bytes, caps[3], caps[4]))
end
local function prune_all()
  prune_due(KEYS[4], KEYS[5], ARGV[9], ARGV[10], ARGV[11])
  prune(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1])
end
"""

# KEYS[1] the sender's held (active) secrets, KEYS[2] the sender's kept (ended) secrets'
# metadata, KEYS[3] the sender's sums, KEYS[4] the workspace's senders, KEYS[5] the
# workspace's sums, KEYS[6] use by sender, KEYS[7] use by workspace
# ARGV[1] the sender (owner id), ARGV[2] the workspace, ARGV[3..6] the caps: the sender's
# secrets and bytes, the workspace's secrets and bytes (0: none), ARGV[7] now (unix s),
# ARGV[8] how long metadata is kept after a secret ends (s), ARGV[9] / ARGV[10] /
# ARGV[11] a sender's held / kept / sums key with %s for the owner id, ARGV[12] the
# handle, ARGV[13] its expiry time (unix s), ARGV[14] its bytes, ARGV[15] the part of
# them its metadata keeps after it ends
# -> {"ok"} reserved (or reserved before) | {"sender" | "workspace", "secrets" | "bytes",
#    secrets held, bytes held}: a cap would be passed, nothing changed
# As a function (`reserve()`, reading the KEYS and ARGV above), so that a script of
# the secret store can reserve in its own step (bot.storage.secrets_store_lua:
# STORE_HERE, on one server).
RESERVING = _COMMON + """
local function reserve()
  local name = ARGV[12]
  local meta = math.min(math.ceil(tonumber(ARGV[15]) / UNIT), PART - 1)
  local rest = math.min(math.max(math.ceil(tonumber(ARGV[14]) / UNIT) - meta, 0), PART - 1)
  local size = (meta + rest) * UNIT
  prune_all()
  if redis.call('ZSCORE', KEYS[1], name) then return {'ok'} end
  local count, bytes = sender_use(KEYS[1], KEYS[3])
  if caps[1] > 0 and count + 1 > caps[1] then return {'sender', 'secrets', count, bytes} end
  if caps[2] > 0 and bytes + size > caps[2] then return {'sender', 'bytes', count, bytes} end
  count, bytes = workspace_use(KEYS[5])
  if caps[3] > 0 and count + 1 > caps[3] then return {'workspace', 'secrets', count, bytes} end
  if caps[4] > 0 and bytes + size > caps[4] then return {'workspace', 'bytes', count, bytes} end
  redis.call('ZADD', KEYS[1], int(tonumber(ARGV[13]) * SPAN + meta * PART + rest), name)
  add(KEYS[3], '*', size)
  add(KEYS[5], '*', size)
  add(KEYS[5], 'n', 1)
  reindex(KEYS[1], KEYS[2], KEYS[4], ARGV[1])
  renew(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  settle()
  return {'ok'}
end
"""
RESERVE = RESERVING + """
return reserve()
"""

# KEYS and ARGV[1..11] as RESERVE's; ARGV[12] "1": the secrets ended, and their metadata
# is kept for ARGV[8] seconds from now | "0": they were never stored, or were removed;
# ARGV[13..] handles of the sender's secrets
# -> how many of them were held (each active secret is given back to the sender and the
#    workspace, and its bytes but its kept metadata's part)
RELEASE_ROOM = _COMMON + """
prune_due(KEYS[4], KEYS[5], ARGV[9], ARGV[10], ARGV[11])
local ended, leave, freed = ARGV[12] == '1', now + 1 + keep, 0
for i = 13, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    local _, meta, rest = parts(score)
    redis.call('ZREM', KEYS[1], ARGV[i])
    if ended then keep_part(KEYS[2], KEYS[3], KEYS[5], ARGV[i], leave, meta)
    else rest = rest + meta end
    add(KEYS[3], '*', -rest * UNIT)
    add(KEYS[5], '*', -rest * UNIT)
    add(KEYS[5], 'n', -1)
    freed = freed + 1
  elseif ended then
    -- Moved to `kept` at its expiry time, ended since (by the sweep): its metadata is
    -- kept from now.
    local kept = redis.call('ZSCORE', KEYS[2], ARGV[i])
    if kept then
      local _, _, meta = parts(kept)
      redis.call('ZADD', KEYS[2], 'XX', 'GT', int(leave * SPAN + meta), ARGV[i])
    end
  end
end
if ended then renew(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]) end
reindex(KEYS[1], KEYS[2], KEYS[4], ARGV[1])
settle()
return freed
"""

# KEYS and ARGV[1..11] as RESERVE's
# -> {the sender's secrets, bytes, the workspace's secrets, bytes}, after pruning
PEEK = _COMMON + """
prune_due(KEYS[4], KEYS[5], ARGV[9], ARGV[10], ARGV[11])
local count, bytes = sender_use(KEYS[1], KEYS[3])
local ws_count, ws_bytes = workspace_use(KEYS[5])
return {count, bytes, ws_count, ws_bytes}
"""
