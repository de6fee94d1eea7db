"""One-time codes for email recipients of external secrets, in Redis.

Only a keyed digest of each code is stored (bot.secrets.web_reveal makes it; someone
with Redis alone cannot test the few million possible codes against it), under a key
named by a keyed digest of the address. A code lives 15 minutes, is used once, and a few
wrong tries void it. Every key shares its secret's hash tag: one Cluster slot.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

# KEYS[1] the code of one request; ARGV[1] the code's digest, ARGV[2] its lifetime (ms)
# -> 1. Each request has a code of its own (its ticket names it): another request, by
# anyone, neither replaces it nor spends its tries.
WEB_CODE_ISSUE = """
redis.call('HSET', KEYS[1], 'h', ARGV[1], 't', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS[1] the recipient's code; ARGV[1] the digest of the code typed, ARGV[2] the wrong
# tries that void a code
# -> {"ok", when it would have expired (unix ms), wrong tries so far} (the code is taken:
#    used once)
#    | {"wrong", tries left} | {"void", 0} (none, expired, or voided by this try)
WEB_CODE_USE = """
local digest = redis.call('HGET', KEYS[1], 'h')
if not digest then return {'void', 0} end
if digest == ARGV[1] then
  local t = redis.call('TIME')
  local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      + redis.call('PTTL', KEYS[1])
  local tries = redis.call('HGET', KEYS[1], 't')
  redis.call('DEL', KEYS[1])
  return {'ok', expires, tonumber(tries)}
end
local tries = redis.call('HINCRBY', KEYS[1], 't', 1)
if tries >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return {'void', 0}
end
return {'wrong', tonumber(ARGV[2]) - tries}
"""

# A code taken for a reveal that used no view (a wrong passphrase, a busy moment) is put
# back as it was, with the expiry it had (a restore never lengthens a code's life), unless
# a newer one was issued meanwhile.
# KEYS[1] the recipient's code; ARGV[1] digest, ARGV[2] its expiry (unix ms), ARGV[3]
# wrong tries
WEB_CODE_RESTORE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 't', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""


class CodeCheck(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    VOID = "void"


@dataclass(frozen=True)
class UsedCode:
    """A code check's answer; for OK, what `restore` needs to put the code back."""

    check: CodeCheck
    tries_left: int = 0
    digest: str = ""
    expires_ms: int = 0
    wrong_tries: int = 0


class RedisWebCodes:
    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._issue = redis.register_script(WEB_CODE_ISSUE)
        self._use = redis.register_script(WEB_CODE_USE)
        self._restore = redis.register_script(WEB_CODE_RESTORE)

    @unavailable_on_redis_errors
    async def issue(self, secret_id: str, who: str, ticket: str, *, digest: str,
                    seconds: int) -> None:
        await self._issue(keys=[self._keys.web_code(secret_id, who, ticket)],
                          args=[digest, seconds * 1000])

    @unavailable_on_redis_errors
    async def use(self, secret_id: str, who: str, ticket: str, *, digest: str,
                  max_tries: int) -> UsedCode:
        reply = replies.array(await self._use(keys=[self._keys.web_code(secret_id, who,
                                                                        ticket)],
                                              args=[digest, max_tries]))
        check = CodeCheck(replies.text(reply[0]))
        if check is CodeCheck.OK:
            return UsedCode(check, digest=digest, expires_ms=int(reply[1]),
                            wrong_tries=int(reply[2]))
        return UsedCode(check, tries_left=int(reply[1]))

    @unavailable_on_redis_errors
    async def restore(self, secret_id: str, who: str, ticket: str, used: UsedCode) -> None:
        await self._restore(keys=[self._keys.web_code(secret_id, who, ticket)],
                            args=[used.digest, used.expires_ms, used.wrong_tries])

    @unavailable_on_redis_errors
    async def first_page_view(self, secret_id: str, *, seconds: int) -> bool:
        """Whether this is the first page view of the secret within `seconds`."""
        return bool(await self._redis.set(
            self._keys.page_seen(secret_id), "1", nx=True, ex=seconds))
