"""Lua that more than one store runs or builds on.

Every other script sits beside the store that runs it: in the store's own module, or in a
`<store>_lua.py` beside it when the store would grow too long (secrets_store_lua.py,
secret_views_lua.py, quota_lua.py). Each has a KEYS / ARGV / returns header.
"""

# Prefixed to every script whose change the audit log records. `owe` notes the event the
# change implies in the secret's owed hash (bot.storage.owed), in the same atomic step, so
# a process killed before it appends the event to the audit stream (another Cluster slot,
# out of a script's reach) leaves it for the sweep. The nonce names the event (the process
# builds the same one, see bot.storage.owed); entry fields: a action, t time, u actor,
# i secret id, k team, d detail, c channel, f views in flight, o Redis's clock and q the
# count within the script (their order: the order of the events).
OWE = """
local owed_count = 0
local function owe(key, meta, nonce, action, at, actor, detail, channel, in_flight)
  if redis.call('HEXISTS', key, nonce) == 1 then return end
  owed_count = owed_count + 1
  local info = redis.call('HMGET', meta, 'id', 'team')
  local clock = redis.call('TIME')
  local entry = {a = action, t = tonumber(at), u = actor, i = info[1], k = info[2],
                 o = clock[1] .. string.format('%06d', tonumber(clock[2])), q = owed_count}
  if detail and detail ~= '' then entry.d = detail end
  if channel and channel ~= '' then entry.c = channel end
  if in_flight and in_flight > 0 then entry.f = in_flight end
  redis.call('HSET', key, nonce, cjson.encode(entry))
  redis.call('PEXPIRE', key, 2592000000) -- 30 days: a sweep runs long before
end
"""


# Removes an index entry unless it was written again since: the claims index (a newer
# claim by the same person keeps its entry) and the owed index (a change since then
# wrote its entry again, and may owe).
# KEYS[1] the index; ARGV[1] member, ARGV[2] cutoff
# -> 1 when removed (only while its score is still at or before the cutoff), else 0
FORGET_UNLESS_NEWER = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
"""
