"""Time passing, for a bot that runs as a process on the real clock: secrets whose
expiry has come, without waiting the five minutes the shortest expiry takes."""

from __future__ import annotations

import time

import redis

from bot.storage.keys import KeySpace


def make_due(client: redis.Redis, *, prefix: str = "ss") -> list[str]:
    """Move the expiry of every stored secret a few seconds into the past, in the
    metadata and the expiry index at once (a transaction), as if its time had come.
    Returns the handles. (The ciphertext keeps its TTL: the sweep does not read it.)"""
    keys = KeySpace(prefix)
    handles = [h.decode() for h in client.zrange(keys.expiries(), 0, -1)]
    past = int(time.time()) - 5
    with client.pipeline(transaction=True) as pipe:
        for name in handles:
            pipe.hset(keys.meta(name), "exp", past)
            pipe.zadd(keys.expiries(), {name: past})
        pipe.execute()
    return handles
