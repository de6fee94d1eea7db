"""Lua for viewing a secret (bot.storage.secret_views runs these).

Every key a script touches belongs to one secret and shares its hash tag, so every
script runs within one Redis Cluster slot, but for CLAIM_HERE, which one server runs in
CLAIM's place (the claims index and the person's rate window are in other slots).

A reveal is two steps: `CLAIM` checks the person and the limits, reserves one view
and hands out the ciphertext, atomically (of any number of concurrent clicks exactly
one per allowed view wins), and marks it as being shown unless a passphrase must be
checked first (then `SHOWING` does, once it is); `CONFIRM` records the view once the
secret has been shown,
and deletes the ciphertext when it was the last. `RELEASE_VIEW` gives a claimed view back
when the secret could not be shown (decryption failed, wrong passphrase, Slack
refused the modal), so a fault never destroys a secret.

Meta hash fields: `left` views remaining (absent: unlimited), `claims` views handed
out but not yet confirmed, `used` views confirmed, `st` status, `end`/`eby` when and
by whom it ended. Per recipient `r:<user id>`: "0" never viewed, "v<time>" viewed,
"c<time>|<previous>" a view handed out, "s<time>|<previous>" a view being shown (Slack
has been asked to display it: if its process dies now, it may have been seen).

`left + used + claims` is part of what the seal covers (bot.storage.secret_fields): every
script keeps that sum unchanged (a view only moves between them).
"""

from bot.storage.lua import OWE
from bot.storage.rate_counter import RATE_STEP
from bot.storage.secret_fields import SEAL_FIELD, SEALED_FIELDS

# Passphrase guesses: a claim that brings one counts it (a member "p:<guess>" scored by
# Redis's clock, in ms) before the passphrase is checked, and refuses it while `tries`
# guesses are already counted within the last window (sliding), so that however many
# recipients guess at once, no more than `tries` are ever checked per window. A wrong
# guess becomes "w:<guess>" (FAIL: `tries` of them lock the secret); a right one is taken
# out again (SHOWING), as only wrong guesses count towards the lock.
# Earlier releases counted wrong guesses after the check, in a plain counter (`legacy`
# below): read while one may still exist, so an upgrade forgets none.
GUESS_CLOCK = """
local function ms_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS[1] meta hash, KEYS[2] ciphertext, KEYS[3] passphrase lock, KEYS[4] guesses,
# KEYS[5] the wrong-guess counter of earlier releases
# ARGV[1] user id, ARGV[2] team id, ARGV[3] now (unix seconds), ARGV[4] the full secret id,
# ARGV[5] the passphrase guess this reveal brings ("": none), ARGV[6] guesses allowed
# per window, ARGV[7] the window (ms), ARGV[8] "1": mark the view as being shown at once
# unless the secret has a passphrase (the caller shows it with no wait in between) or the
# step runs more than FRESH_SECONDS after ARGV[3]
# -> {"claimed", ciphertext, sender, label, notify, passphrase, mode, views left,
#     views allowed in all (-1: unlimited), {the sealed fields as stored, then the seal},
#     1 when marked as being shown, else 0}
#    (the guess counted, for a passphrase secret; the caller checks the seal before it
#    decrypts: a script cannot hold the key)
#    | {outcome, held} for unknown, wrong_team, not_recipient (held: 1 when this person
#      has a view of the secret at this handle in flight all the same)
#    | {outcome} for unavailable, in_flight, guessing (the guesses allowed are all counted,
#      some still being checked) | {"locked", lock ms left}
CLAIMING = """
local m = KEYS[1]
local team = redis.call('HGET', m, 'team')
if not team then return {'unknown', 0} end
local field = 'r:' .. ARGV[1]
local slot = redis.call('HGET', m, field)
local held = (slot and string.find('cs', string.sub(slot, 1, 1), 1, true)) and 1 or 0
if redis.call('HGET', m, 'id') ~= ARGV[4] then return {'unknown', held} end
if team ~= ARGV[2] then return {'wrong_team', held} end
if not slot then return {'not_recipient', 0} end
if redis.call('HGET', m, 'st') ~= 'active'
    or tonumber(redis.call('HGET', m, 'exp')) <= tonumber(ARGV[3]) then
  return {'unavailable'}
end
local lock = redis.call('PTTL', KEYS[3])
if lock > 0 then return {'locked', lock} end
local guess = ARGV[5] ~= '' and redis.call('HGET', m, 'pp') == '1'
local clock = 0
if guess then
  clock = ms_now()
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', clock - tonumber(ARGV[7]))
  local legacy = tonumber(redis.call('GET', KEYS[5]) or '0')
  if redis.call('ZCARD', KEYS[4]) + legacy >= tonumber(ARGV[6]) then return {'guessing'} end
end
local first = string.sub(slot, 1, 1)
if first == 'c' or first == 's' then return {'in_flight'} end
local left = redis.call('HGET', m, 'left')
local mode = redis.call('HGET', m, 'mode') or 'each'
if mode == 'each' and first ~= '0' then return {'unavailable'} end
if left and tonumber(left) <= 0 then return {'unavailable'} end
-- Counts the bot never makes negative: a Redis writer's way to stretch the sealed sum.
if tonumber(redis.call('HGET', m, 'used') or '0') < 0
    or tonumber(redis.call('HGET', m, 'claims') or '0') < 0 then
  return {'unavailable'}
end
local ciphertext = redis.call('GET', KEYS[2])
if not ciphertext then return {'unavailable'} end
if guess then
  redis.call('ZADD', KEYS[4], clock, 'p:' .. ARGV[5])
  redis.call('PEXPIRE', KEYS[4], ARGV[7])
end
if left then left = redis.call('HINCRBY', m, 'left', -1) end
local claims = redis.call('HINCRBY', m, 'claims', 1)
local info = redis.call('HMGET', m, 'from', 'lbl', 'nt', 'pp', 'used')
-- Claimed ('c'): SHOWING marks it as being shown once it is about to be (a view claimed
-- by a process that dies before that cannot have been shown: it is given back). Marked
-- at once ('s') when the caller goes straight on to show it: without a passphrase to
-- check, nothing that waits comes between this step and showing. Not when this step runs
-- late (a frozen Redis runs what it received when it thaws): its caller has long given
-- up on it, and a view marked as being shown would be counted as used by the sweep.
local shown = ARGV[8] == '1' and info[4] ~= '1'
    and tonumber(redis.call('TIME')[1]) - tonumber(ARGV[3]) <= FRESH_SECONDS
if KEYS[6] then redis.call('ZADD', KEYS[6], ARGV[10], ARGV[9]) end
redis.call('HSET', m, field, (shown and 's' or 'c') .. ARGV[3] .. '|' .. slot)
-- left + used + claims stays the same through claims, confirmations and give-backs
return {'claimed', ciphertext, info[1], info[2] or '', info[3] or '1', info[4] or '0',
        mode, left or -1, left and (left + tonumber(info[5] or '0') + claims) or -1,
        redis.call('HMGET', m, SEALED), shown and 1 or 0}
""".replace("SEALED", ", ".join(f"'{name}'" for name in (*SEALED_FIELDS, SEAL_FIELD))).replace(
    "FRESH_SECONDS", "5")
CLAIM = GUESS_CLOCK + CLAIMING

# CLAIM on one server, where keys of several slots may be in one script: the view is
# noted in the claims index only when it is handed out (the Cluster's CLAIM is preceded
# by that note in its pipeline, and a refusal takes it back), and the person's attempt
# (bot.storage.rate_counter's RATE: their reveal limit, and the click's replay mark) is
# taken in first, when there is one (a Cluster takes it in a step before CLAIM). A
# refused attempt claims and notes nothing, as when the steps are apart.
# KEYS[1..5] and ARGV[1..8] as CLAIM's; KEYS[6] the claims index; KEYS[7] the person's
# reveal window and KEYS[8] the attempt's mark (both absent without an attempt to take
# in; the mark absent when the attempt is not named); ARGV[9] the index entry, ARGV[10]
# its score; ARGV[11..16] RATE's ARGV[1..6]
# -> CLAIM's reply | {"repeated", 0, 0} | {"limited", ms until allowed, 0}
CLAIM_HERE = GUESS_CLOCK + RATE_STEP + """
if KEYS[7] then
  local took = rate_step(KEYS[7], KEYS[8], ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15],
                         ARGV[16])
  if took[1] ~= 1 then return {took[1] == -1 and 'repeated' or 'limited', took[2], 0} end
end
""" + CLAIMING

# The last step before Slack is asked to show the secret: the secret must still be
# active and unexpired here, not only when it was claimed, so that a revoke (or the
# expiry) landing while the claim was being decrypted stops the reveal.
# The passphrase guess the claim counted, if any, was right (the secret decrypted): it
# is taken out of the guesses again, whatever happens next.
# KEYS[1] meta hash, KEYS[2] guesses
# ARGV[1] user id, ARGV[2] now (unix seconds), ARGV[3] the guess ("": none)
# -> 1 when this person's claimed view is now marked as being shown; 0 when they hold
#    no claim (it was given back meanwhile); -1 when the secret has ended or expired
#    since the claim (the view is given back here). Do not show it unless 1.
SHOWING = """
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], 'p:' .. ARGV[3]) end
local m = KEYS[1]
local field = 'r:' .. ARGV[1]
local slot = redis.call('HGET', m, field)
if not slot or string.sub(slot, 1, 1) ~= 'c' then return 0 end
if redis.call('HGET', m, 'st') ~= 'active'
    or tonumber(redis.call('HGET', m, 'exp') or '0') <= tonumber(ARGV[2]) then
  redis.call('HSET', m, field, string.sub(slot, string.find(slot, '|', 1, true) + 1))
  redis.call('HINCRBY', m, 'claims', -1)
  if redis.call('HEXISTS', m, 'left') == 1 then redis.call('HINCRBY', m, 'left', 1) end
  return -1
end
redis.call('HSET', m, field, 's' .. string.sub(slot, 2))
return 1
"""

# KEYS[1] meta hash, KEYS[2] ciphertext, KEYS[3] owed events
# ARGV[1] user id, ARGV[2] now (unix seconds), ARGV[3] metadata retention ms,
# ARGV[4] the opened event's detail, ARGV[5] its channel (either may be "")
# -> {"viewed" | "burned", views used} (secret_opened owed, and secret_burned when burned)
#    | {"not_claimed", 0}
CONFIRM = OWE + """
local m = KEYS[1]
local field = 'r:' .. ARGV[1]
local slot = redis.call('HGET', m, field)
local state = slot and string.sub(slot, 1, 1)
if state ~= 'c' and state ~= 's' then return {'not_claimed', 0} end
redis.call('HSET', m, field, 'v' .. ARGV[2])
local claims = redis.call('HINCRBY', m, 'claims', -1)
local used = redis.call('HINCRBY', m, 'used', 1)
local id = redis.call('HGET', m, 'id')
owe(KEYS[3], m, 'opened:' .. id .. ':' .. used, 'secret_opened', ARGV[2], ARGV[1], ARGV[4],
    ARGV[5])
local left = redis.call('HGET', m, 'left')
if left and tonumber(left) <= 0 and claims <= 0 and redis.call('HGET', m, 'st') == 'active' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', m, 'st', 'burned', 'end', ARGV[2])
  redis.call('PEXPIRE', m, ARGV[3])
  owe(KEYS[3], m, 'burned:' .. id, 'secret_burned', ARGV[2], ARGV[1], '', ARGV[5])
  return {'burned', used}
end
return {'viewed', used}
"""

# KEYS[1] meta hash, KEYS[2] owed events
# ARGV[1] user id, ARGV[2] the claim's time: give back only that claim ("": any),
# ARGV[3] now, ARGV[4] a detail: when not "", the give-back is audited (reveal_failed
# owed), ARGV[5] its channel
# -> 1 when a claimed view was given back, 0 otherwise
RELEASE_VIEW = OWE + """
local m = KEYS[1]
local field = 'r:' .. ARGV[1]
local slot = redis.call('HGET', m, field)
local state = slot and string.sub(slot, 1, 1)
if state ~= 'c' and state ~= 's' then return 0 end
local bar = string.find(slot, '|', 1, true)
local claimed = string.sub(slot, 2, bar - 1)
if ARGV[2] ~= '' and claimed ~= ARGV[2] then return 0 end
redis.call('HSET', m, field, string.sub(slot, bar + 1))
redis.call('HINCRBY', m, 'claims', -1)
if redis.call('HEXISTS', m, 'left') == 1 then redis.call('HINCRBY', m, 'left', 1) end
if ARGV[4] ~= '' then
  owe(KEYS[2], m, 'returned:' .. redis.call('HGET', m, 'id') .. ':' .. ARGV[1] .. ':' .. claimed,
      'reveal_failed', ARGV[3], ARGV[1], ARGV[4], ARGV[5])
end
return 1
"""

# KEYS[1] meta hash, KEYS[2] owed events
# ARGV[1] user id, ARGV[2] cutoff (unix seconds), ARGV[3] now, ARGV[4] the give-back's
# audit detail
# -> {1, claim time} when a view claimed at or before the cutoff was given back
#    (reveal_failed owed); {2, claim time} when it was being shown (the caller counts it
#    as used: it may have been seen); else {0, 0}
RETURN_STALE = OWE + """
local m = KEYS[1]
local field = 'r:' .. ARGV[1]
local slot = redis.call('HGET', m, field)
local state = slot and string.sub(slot, 1, 1)
if state ~= 'c' and state ~= 's' then return {0, 0} end
local bar = string.find(slot, '|', 1, true)
local claimed = string.sub(slot, 2, bar - 1)
if tonumber(claimed) > tonumber(ARGV[2]) then return {0, 0} end
if state == 's' then return {2, tonumber(claimed)} end
redis.call('HSET', m, field, string.sub(slot, bar + 1))
redis.call('HINCRBY', m, 'claims', -1)
if redis.call('HEXISTS', m, 'left') == 1 then redis.call('HINCRBY', m, 'left', 1) end
owe(KEYS[2], m, 'returned:' .. redis.call('HGET', m, 'id') .. ':' .. ARGV[1] .. ':' .. claimed,
    'reveal_failed', ARGV[3], ARGV[1], ARGV[4], '')
return {1, tonumber(claimed)}
"""

# A guess CLAIM counted turned out wrong: it stays counted, as a wrong one, and `tries`
# wrong ones within the window lock the secret (the window then starts afresh).
# KEYS[1] guesses, KEYS[2] lock, KEYS[3] the wrong-guess counter of earlier releases
# ARGV[1] the guess, ARGV[2] wrong guesses allowed, ARGV[3] window ms, ARGV[4] lock ms
# -> {wrong guesses within the window, 1 if this one locked the secret else 0}
FAIL = GUESS_CLOCK + """
local clock, window = ms_now(), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', clock - window)
local at = redis.call('ZSCORE', KEYS[1], 'p:' .. ARGV[1])
redis.call('ZREM', KEYS[1], 'p:' .. ARGV[1])
redis.call('ZADD', KEYS[1], at or clock, 'w:' .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], window)
local wrong = tonumber(redis.call('GET', KEYS[3]) or '0')
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, 2) == 'w:' then wrong = wrong + 1 end
end
if wrong >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
  redis.call('DEL', KEYS[1], KEYS[3])
  return {wrong, 1}
end
return {wrong, 0}
"""
