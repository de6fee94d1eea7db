"""A link holder's view of a secret, taken in one Redis step (bot.secrets.link_reveal).

A Slack reveal claims a view, has Slack show it, then confirms it (bot.storage.
secret_views), so that a view Slack never displayed is given back. The web page has no
such step to wait for: the answer that carries the plaintext is the showing. So one
script checks the limits and the link key, takes the view, confirms it, owes its audit
events and burns the secret with its last view, as snappass's GETDEL takes a secret in
one step. A process that dies before it answers has used that view (it may have been
shown); what could keep the token from being decrypted (its version, a key the ring no
longer holds) is checked before the view is taken, so a key removed too early uses up
nothing.

On one server (alone or behind Sentinel) the script also counts the client's attempts
and notes the secret in the owed index. On a Cluster those keys live in other slots,
out of a script's reach: the client's attempts are counted in a step before it, and the
owed index is written in the same round trip (bot.secrets.link_reveal does the first).
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio.cluster import RedisCluster

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace, handle
from bot.storage.lua import OWE
from bot.storage.quota import RedisQuota
from bot.storage.secret_fields import SEAL_FIELD, SEALED_FIELDS

LINK_TOKEN_VERSION = 5  # bot.crypto.tokens: a link key inside, the master key outside

# A sliding window of attempts, as bot.storage.rate_counter's RATE: `over` is the ms
# until one more is allowed (0: now), `count` adds this attempt.
WINDOW = """
local now_ms, window = tonumber(ARGV[1]), tonumber(ARGV[3])
local function over(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now_ms - window)
  local n = redis.call('ZCARD', key)
  if n < limit then return 0 end
  local freeing = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
  return math.max(1, tonumber(freeing[2]) + window - now_ms)
end
local function count(key)
  if not key then return end
  redis.call('ZADD', key, now_ms, ARGV[6])
  redis.call('PEXPIRE', key, window)
end
"""

# KEYS[1] meta hash, KEYS[2] ciphertext, KEYS[3] owed events, KEYS[4] the secret's reveal
# attempts; on one server also KEYS[5] the client's reveal attempts, KEYS[6] owed index
# ARGV[1] now (ms), ARGV[2] now (unix seconds), ARGV[3] window (ms), ARGV[4] attempts
# allowed per client, ARGV[5] per secret, ARGV[6] a unique member, ARGV[7] the full
# secret id, ARGV[8] the posted link key's check, ARGV[9] metadata retention (ms),
# ARGV[10] the principal ("link"), ARGV[11] the secret's handle, ARGV[12..] the ids of
# the keys in the ring
# -> {"taken", token, views used, 1 when burned else 0, {sealed fields, seal, left}}
#    | {"limited", ms to wait} | {"gone"} | {"wrong_key", team} | {"in_flight"} (a claim
#    of the two-step path is under way) | {"key_unknown", team} (nothing taken)
#    | {"other"}: an email or passphrase secret, for the slower path (nothing counted)
TAKE = OWE + WINDOW + """
local client, m = KEYS[5], KEYS[1]
if client then
  local wait = over(client, tonumber(ARGV[4]))
  if wait > 0 then return {'limited', wait} end
end
local f = redis.call('HMGET', m, 'id', 'aud', 'kv', 'pp', 'st', 'exp', 'r:' .. ARGV[10],
                     'mode', 'left', 'used', 'claims')
if f[1] ~= ARGV[7] or (f[2] ~= 'link' and f[2] ~= 'email') or f[5] ~= 'active'
    or tonumber(f[6] or '0') <= tonumber(ARGV[2]) then
  count(client)
  return {'gone'}
end
if f[3] ~= ARGV[8] then count(client) return {'wrong_key', redis.call('HGET', m, 'team')} end
if f[2] ~= 'link' or f[4] == '1' then return {'other'} end
local wait = over(KEYS[4], tonumber(ARGV[5]))
count(client)
if wait > 0 then return {'limited', wait} end
count(KEYS[4])
local slot = f[7]
if not slot then return {'gone'} end
local first = string.sub(slot, 1, 1)
if first == 'c' or first == 's' then return {'in_flight'} end
local left = f[9] and tonumber(f[9])
if ((f[8] or 'each') == 'each' and first ~= '0') or (left and left <= 0)
    or tonumber(f[10] or '0') < 0 or tonumber(f[11] or '0') < 0 then
  return {'gone'}
end
local token = redis.call('GET', KEYS[2])
if not token then return {'gone'} end
local known = false
local kid = string.sub(token, 3, 2 + (string.byte(token, 2) or 0))
for i = 12, #ARGV do if ARGV[i] == kid then known = true end end
if string.byte(token, 1) ~= tonumber('LINK_VERSION') or not known then
  return {'key_unknown', redis.call('HGET', m, 'team')}
end
if left then redis.call('HINCRBY', m, 'left', -1) end
local used = redis.call('HINCRBY', m, 'used', 1)
redis.call('HSET', m, 'r:' .. ARGV[10], 'v' .. ARGV[2])
owe(KEYS[3], m, 'opened:' .. ARGV[7] .. ':' .. used, 'secret_opened', ARGV[2], ARGV[10], '', '')
local burned = 0
if left and left <= 1 and tonumber(f[11] or '0') <= 0 then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', m, 'st', 'burned', 'end', ARGV[2])
  redis.call('PEXPIRE', m, ARGV[9])
  owe(KEYS[3], m, 'burned:' .. ARGV[7], 'secret_burned', ARGV[2], ARGV[10], '', '')
  burned = 1
end
if KEYS[6] then redis.call('ZADD', KEYS[6], ARGV[2], ARGV[11]) end
return {'taken', token, used, burned, redis.call('HMGET', m, SEALED, 'left', 'used', 'claims')}
""".replace("SEALED", ", ".join(f"'{name}'" for name in (*SEALED_FIELDS, SEAL_FIELD))).replace(
    "LINK_VERSION", str(LINK_TOKEN_VERSION))


class Took(enum.Enum):
    """What TAKE did."""

    TAKEN = "taken"  # the view is used: decrypt and answer with it
    LIMITED = "limited"  # too many attempts (the client's or the secret's)
    GONE = "gone"  # not there, not external, ended, expired or out of views
    WRONG_KEY = "wrong_key"  # the link key is not this secret's
    IN_FLIGHT = "in_flight"  # another reveal of it is between its two steps
    KEY_UNKNOWN = "key_unknown"  # its token cannot be opened here: nothing taken
    OTHER = "other"  # an email or passphrase secret: the two-step path


@dataclass(frozen=True)
class Taken:
    """TAKE's answer. For TAKEN: the token, the views used with this one, whether it was
    the last (the secret is burned), and the metadata as the seal covers it."""

    took: Took
    wait_ms: int = 0
    token: bytes = b""
    used: int = 0
    burned: bool = False
    team_id: str = ""  # WRONG_KEY, KEY_UNKNOWN: for their audit events
    fields: dict[bytes, bytes] = field(default_factory=dict)  # as HGETALL answers


class LinkViews:
    """Takes link holders' views (the web page's reveal of a link secret)."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, retention_ms: int,
                 quota: RedisQuota | None) -> None:
        self._redis = redis
        self._keys = keys
        self._retention_ms = retention_ms
        self._quota = quota
        self._take = redis.register_script(TAKE)
        self.one_server = not isinstance(redis, RedisCluster)

    def client_attempts(self, client: str) -> str:
        """The key of a client's reveal attempts (bot.storage.rate_counter's window)."""
        return self._keys.rate("web-reveal-ip", "web", client)

    def secret_attempts(self, secret_id: str) -> str:
        """The key of the reveal attempts on one secret by holders of its link."""
        return self._keys.link_reveals(secret_id)

    @unavailable_on_redis_errors
    async def take(self, secret_id: str, *, check: str, principal: str, client: str,
                   now: float, window_seconds: int, per_client: int, per_secret: int,
                   key_ids: tuple[str, ...]) -> Taken:
        """Take one view of a link secret for the holder of a key whose check is `check`.
        `client`: whom the client's limit counts; on a Cluster the caller counted it."""
        keys = [self._keys.meta(secret_id), self._keys.ciphertext(secret_id),
                self._keys.owed(secret_id), self._keys.link_reveals(secret_id)]
        if self.one_server:
            keys += [self.client_attempts(client), self._keys.owed_index()]
        args: list[str | int] = [
            int(now * 1000), int(now), window_seconds * 1000, per_client, per_secret,
            f"{now:.6f}:{secrets.token_hex(4)}", secret_id, check, self._retention_ms,
            principal, handle(secret_id), *key_ids]
        if self.one_server:
            answer = await self._take(keys=keys, args=args)
        else:
            async with self._redis.pipeline(transaction=False) as pipe:
                # The owed index first, as the Slack reveal's confirmation writes it: a
                # process that dies after the script leaves its events for the sweep.
                pipe.zadd(self._keys.owed_index(), {handle(secret_id): int(now)})
                pipe.eval(TAKE, len(keys), *keys, *args)
                _, answer = await pipe.execute()
        return _taken(answer)

    @unavailable_on_redis_errors
    async def burned(self, ended: Sequence[tuple[str, str, str]], *, now: float) -> None:
        """After views burned secrets, as (id, team, sender): out of the expiry index, and
        their quota room given back but their metadata's part (both would catch up at
        their expiry time)."""
        if not ended:
            return
        await self._redis.zrem(self._keys.expiries(), *(handle(i) for i, _, _ in ended))
        if self._quota is not None:
            await self._quota.release([(team, sender, handle(i)) for i, team, sender in ended],
                                      ended=True, now=now,
                                      retention_seconds=self._retention_ms // 1000)


def _taken(answer: object) -> Taken:
    reply = replies.array(answer)
    took = Took(replies.text(reply[0]))
    if took is Took.LIMITED:
        return Taken(took, wait_ms=int(reply[1]))
    if took in (Took.WRONG_KEY, Took.KEY_UNKNOWN):
        return Taken(took, team_id=replies.text(reply[1]))
    if took is not Took.TAKEN:
        return Taken(took)
    names = (*SEALED_FIELDS, SEAL_FIELD, "left", "used", "claims")
    fields = {name.encode(): replies.raw(value) for name, value in
              zip(names, replies.array(reply[4]), strict=True) if value is not None}
    return Taken(took, token=replies.raw(reply[1]), used=int(reply[2]),
                 burned=bool(int(reply[3])), fields=fields)
