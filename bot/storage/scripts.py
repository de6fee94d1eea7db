"""Lua scripts for the multi-step changes that must be atomic.

A reveal is two steps: `CLAIM` hands out the ciphertext and marks the recipient's
view as claimed in one atomic step (so of any number of concurrent clicks exactly one
per allowed view wins); `CONFIRM` records the view once the secret has been shown,
and deletes the ciphertext when it was the last. `RELEASE` gives a claimed view back
when it could not be shown (decryption failed, Slack refused the modal), so a fault
never destroys a secret.

Per-recipient state lives in the meta hash under `r:<user id>`:
"0" pending, "c<unix time>" claimed, "v<unix time>" viewed.
"""

# KEYS[1] meta hash, KEYS[2] ciphertext
# ARGV[1] user id, ARGV[2] team id, ARGV[3] now (unix seconds)
# -> {"claimed", ciphertext, code, sender} | {"unknown"} | {"wrong_team", code}
#    | {"not_recipient", code} | {"unavailable", code}
CLAIM = """
local team = redis.call('HGET', KEYS[1], 'team')
if not team then return {'unknown'} end
local code = redis.call('HGET', KEYS[1], 'code')
if team ~= ARGV[2] then return {'wrong_team', code} end
local slot = redis.call('HGET', KEYS[1], 'r:' .. ARGV[1])
if not slot then return {'not_recipient', code} end
if slot ~= '0' or redis.call('HGET', KEYS[1], 'st') ~= 'active'
    or tonumber(redis.call('HGET', KEYS[1], 'exp')) <= tonumber(ARGV[3]) then
  return {'unavailable', code}
end
local ciphertext = redis.call('GET', KEYS[2])
if not ciphertext then return {'unavailable', code} end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], 'c' .. ARGV[3])
return {'claimed', ciphertext, code, redis.call('HGET', KEYS[1], 'from')}
"""

# KEYS[1] meta hash, KEYS[2] ciphertext
# ARGV[1] user id, ARGV[2] now (unix seconds)
# -> "viewed" | "burned" (that was the last view) | "not_claimed"
CONFIRM = """
local field = 'r:' .. ARGV[1]
local slot = redis.call('HGET', KEYS[1], field)
if not slot or string.sub(slot, 1, 1) ~= 'c' then return 'not_claimed' end
redis.call('HSET', KEYS[1], field, 'v' .. ARGV[2])
if redis.call('HINCRBY', KEYS[1], 'pend', -1) > 0 then return 'viewed' end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'st', 'burned', 'end', ARGV[2])
return 'burned'
"""

# KEYS[1] meta hash
# ARGV[1] user id
# -> 1 when a claimed view was given back, 0 otherwise
RELEASE = """
local field = 'r:' .. ARGV[1]
local slot = redis.call('HGET', KEYS[1], field)
if not slot or string.sub(slot, 1, 1) ~= 'c' then return 0 end
redis.call('HSET', KEYS[1], field, '0')
return 1
"""
