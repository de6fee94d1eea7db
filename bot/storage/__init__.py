"""Persistence of secrets. Only this package talks to Redis."""

from bot.errors import CodeTaken
from bot.storage.connection import connect
from bot.storage.keys import KeySpace
from bot.storage.once import OnceMarks
from bot.storage.rate_counter import RateStep
from bot.storage.secret_outcomes import Claim, ClaimOutcome, ConfirmOutcome, Guess
from bot.storage.secrets_store import RedisSecretStore

__all__ = ["Claim", "ClaimOutcome", "CodeTaken", "ConfirmOutcome", "Guess", "KeySpace",
           "OnceMarks", "RateStep", "RedisSecretStore", "connect"]
