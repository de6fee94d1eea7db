"""Counts over the whole keyspace, cheap enough to read on every metrics scrape."""

from __future__ import annotations

from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace


@unavailable_on_redis_errors
async def active_secrets(redis: RedisClient, keys: KeySpace, *, now: float) -> int:
    """Secrets still active: in the expiry index (burned and revoked ones leave it at
    once, expired ones when swept) with an expiry time still to come."""
    return int(await redis.zcount(keys.expiries(), f"({now}", "+inf"))
