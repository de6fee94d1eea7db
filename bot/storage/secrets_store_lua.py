"""Lua for storing and ending a secret (bot.storage.secrets_store runs these; the
indexes' own scripts are in bot.storage.secret_index).

Every key a script touches belongs to one secret and shares its hash tag, so every
script runs within one Redis Cluster slot. The meta hash's fields are described in
bot.storage.secret_views_lua.
"""

from bot.storage.lua import OWE

# KEYS[1] meta hash, KEYS[2] ciphertext, KEYS[3] withdrawal mark, KEYS[4] owed events
# ARGV[1] ciphertext, ARGV[2] ttl ms, ARGV[3] meta ttl ms, ARGV[4..] meta field/value pairs
# -> 1 (secret_created owed), or 0 when the share code (the keys' handle) is already
#    taken or withdrawn
CREATE = OWE + """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local made = redis.call('HMGET', KEYS[1], 'id', 'at', 'from', 'ch')
owe(KEYS[4], KEYS[1], 'created:' .. made[1], 'secret_created', made[2], made[3], '',
    made[4] or '')
return 1
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
