"""Persistence of secrets. Only this package talks to Redis."""

from bot.errors import CodeTaken
from bot.storage.connection import connect
from bot.storage.keys import KeySpace
from bot.storage.once import OnceMarks
from bot.storage.secrets_store import Claim, Guess, RedisSecretStore

__all__ = ["Claim", "CodeTaken", "Guess", "KeySpace", "OnceMarks", "RedisSecretStore", "connect"]
