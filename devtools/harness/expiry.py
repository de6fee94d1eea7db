"""Time passing, for a bot that runs as a process on the real clock: secrets whose
expiry has come, without waiting the five minutes the shortest expiry takes."""

from __future__ import annotations

import time

import redis

from bot.crypto import KeyRing
from bot.storage.keys import KeySpace
from bot.storage.secret_fields import SEAL_FIELD, seal_of


def make_due(client: redis.Redis, *, prefix: str = "ss",
             keyring: KeyRing | None = None) -> list[str]:
    """Move the expiry of every stored secret a few seconds into the past, in the
    metadata (sealed again with the bots' keys, TEST_KEYS unless `keyring` is given: a
    genuine record whose time has come, not a changed one) and the expiry index at once (a
    transaction). Returns the handles. (The ciphertext keeps its TTL: the sweep does not
    read it.)"""
    from tests.conftest import keyring_of_test_keys

    ring = keyring or keyring_of_test_keys()
    keys = KeySpace(prefix)
    handles = [h.decode() for h in client.zrange(keys.expiries(), 0, -1)]
    past = int(time.time()) - 5
    with client.pipeline(transaction=True) as pipe:
        for name in handles:
            fields = {k.decode(): v.decode() for k, v in client.hgetall(keys.meta(name)).items()}
            fields["exp"] = str(past)
            pipe.hset(keys.meta(name), mapping={"exp": past, SEAL_FIELD: seal_of(fields, ring)})
            pipe.zadd(keys.expiries(), {name: past})
        pipe.execute()
    return handles
