"""Lua for storing and ending a secret (bot.storage.secret_writes stores and withdraws,
bot.storage.secrets_store ends; the indexes' own scripts are in bot.storage.secret_index).

Every key a script touches belongs to one secret and shares its hash tag, so every
script runs within one Redis Cluster slot, but for STORE_HERE, which one server runs in
place of three steps (the quota's and the indexes' keys are in other slots). The meta
hash's fields are described in bot.storage.secret_views_lua.
"""

from bot.storage.lua import OWE
from bot.storage.quota_lua import RESERVING

# A secret's own keys. `code_state`: "free"; "stored", by an earlier try of this very
# call (its id is the one among the fields from ARGV[first]: a client that lost the
# answer and sent it again must not be told the code is taken, nor give its room back);
# or "taken", by another secret or a withdrawn share. `create` stores it (its ciphertext
# for `ttl` ms, its metadata, field/value pairs from ARGV[first], for `meta_ttl` ms) and
# owes its secret_created.
CREATING = OWE + """
local function code_state(meta, withdrawn, first)
  if redis.call('EXISTS', withdrawn) == 1 then return 'taken' end
  local stored = redis.call('HGET', meta, 'id')
  if not stored then return 'free' end
  for i = first, #ARGV - 1, 2 do
    if ARGV[i] == 'id' then return stored == ARGV[i + 1] and 'stored' or 'taken' end
  end
  return 'taken'
end
local function create(meta, ciphertext, owed, sealed, ttl, meta_ttl, first)
  redis.call('SET', ciphertext, sealed, 'PX', ttl)
  redis.call('HSET', meta, unpack(ARGV, first))
  redis.call('PEXPIRE', meta, meta_ttl)
  local made = redis.call('HMGET', meta, 'id', 'at', 'from', 'ch')
  owe(owed, meta, 'created:' .. made[1], 'secret_created', made[2], made[3], '',
      made[4] or '')
end
"""

# KEYS[1] meta hash, KEYS[2] ciphertext, KEYS[3] withdrawal mark, KEYS[4] owed events
# ARGV[1] ciphertext, ARGV[2] ttl ms, ARGV[3] meta ttl ms, ARGV[4..] meta field/value pairs
# -> 1 (stored, now or by an earlier try; secret_created owed), or 0 when the share code
#    (the keys' handle) is another secret's or withdrawn
CREATE = CREATING + """
local state = code_state(KEYS[1], KEYS[3], 4)
if state == 'taken' then return 0 end
if state == 'free' then create(KEYS[1], KEYS[2], KEYS[4], ARGV[1], ARGV[2], ARGV[3], 4) end
return 1
"""

# One server stores a secret in one step, in place of the quota's RESERVE, the indexes'
# pipeline and CREATE (a Cluster keeps the three apart: their keys are in other slots).
# The code is checked first, so a taken or withdrawn one reserves and indexes nothing (and
# a secret stored by an earlier try is left as it is).
# KEYS[1..7] RESERVE's; KEYS[8] the expiry index, KEYS[9] the undelivered index, KEYS[10]
# the owed index, KEYS[11] / KEYS[12] the sender's / the workspace's index, KEYS[13..16]
# CREATE's KEYS[1..4]
# ARGV[1..15] RESERVE's (ARGV[12], the handle, is each index's member); ARGV[16] the
# expiry time, ARGV[17] now, ARGV[18] the creation time, ARGV[19] / ARGV[20] how long the
# sender's and workspace's indexes keep an entry (s) / keep their key (ms), ARGV[21..23]
# CREATE's ARGV[1..3], ARGV[24..] its meta field/value pairs
# -> {"ok"} (stored, now or by an earlier try; secret_created owed) | {"taken"} |
#    RESERVE's refusal (nothing changed)
STORE_HERE = RESERVING + CREATING + """
local state = code_state(KEYS[13], KEYS[15], 24)
if state ~= 'free' then return {state == 'stored' and 'ok' or 'taken'} end
local reserved = reserve()
if reserved[1] ~= 'ok' then return reserved end
local member = ARGV[12]
redis.call('ZADD', KEYS[8], 'NX', ARGV[16], member)
redis.call('ZADD', KEYS[9], ARGV[17], member)
redis.call('ZADD', KEYS[10], ARGV[17], member)
for i = 11, 12 do
  redis.call('ZADD', KEYS[i], ARGV[18], member)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', tonumber(ARGV[17]) - tonumber(ARGV[19]))
  redis.call('PEXPIRE', KEYS[i], ARGV[20])
end
create(KEYS[13], KEYS[14], KEYS[16], ARGV[21], ARGV[22], ARGV[23], 24)
return {'ok'}
"""

# KEYS[1] meta hash, KEYS[2] ciphertext, KEYS[3] owed events
# ARGV[1] status to end with ("revoked" | "expired"), ARGV[2] now, ARGV[3] who (or ""),
# ARGV[4] metadata retention ms, ARGV[5] the audit event it implies
# -> {the status the secret had ("active" means this call ended it, and owes the event)
#     | "unknown" | "not_due" (expiring a secret whose expiry time has not come),
#     views in flight at that moment (handed out, perhaps being read)}
END = OWE + """
local m = KEYS[1]
local status = redis.call('HGET', m, 'st')
if not status then return {'unknown', 0} end
local claims = tonumber(redis.call('HGET', m, 'claims') or '0')
if status ~= 'active' then return {status, claims} end
if ARGV[1] == 'expired' and tonumber(redis.call('HGET', m, 'exp')) > tonumber(ARGV[2]) then
  return {'not_due', claims}
end
redis.call('DEL', KEYS[2])
redis.call('HSET', m, 'st', ARGV[1], 'end', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', m, 'eby', ARGV[3]) end
redis.call('PEXPIRE', m, ARGV[4])
local who = ARGV[3] ~= '' and ARGV[3] or redis.call('HGET', m, 'from')
owe(KEYS[3], m, 'ended:' .. redis.call('HGET', m, 'id'), ARGV[5], ARGV[2], who, '', '', claims)
return {'active', claims}
"""

# KEYS[1] meta hash, KEYS[2] ciphertext, KEYS[3] withdrawal mark, KEYS[4] owed events
# ARGV[1] the full secret id, ARGV[2] how long the mark stays (ms)
# -> 1 when a stored secret was removed (with the secret_created it owed: it was never
#    shared), 0 when there was none (a late CREATE then finds the mark and stores nothing)
WITHDRAW = """
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
return 1
"""
