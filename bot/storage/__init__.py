"""Persistence of secrets. Only this package talks to Redis."""

from bot.storage.connection import connect
from bot.storage.keys import KeySpace
from bot.storage.once import OnceMarks
from bot.storage.secrets_store import Claim, CodeTaken, RedisSecretStore

__all__ = ["Claim", "CodeTaken", "KeySpace", "OnceMarks", "RedisSecretStore", "connect"]
