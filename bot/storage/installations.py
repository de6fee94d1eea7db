"""Redis-backed stores for Slack's OAuth flow: installations (with their tokens) and
the one-time `state` values of /slack/install.

slack_sdk ships file, SQLite, SQLAlchemy and S3 stores but none for Redis. These follow
the interface and semantics of its file store: the latest installation per workspace
(or organisation, for org-wide installs), the latest per installing user, and the latest
bot; `find_installation` for a user fills in the workspace's latest bot token.

Tokens are credentials: every value is the whole record as JSON, encrypted with the
key ring (AES-256-GCM, bound to its key name, so a value copied under another
workspace's key does not decrypt). Nothing readable is stored but the ids in key names.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot import crypto
from bot.crypto import oauth_state
from bot.errors import InvalidToken
from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

STATE_SECONDS = oauth_state.STATE_SECONDS  # an install that takes longer starts again


def owner_of(enterprise_id: str | None, team_id: str | None,
             is_enterprise_install: bool | None = False) -> str:
    """Who an installation belongs to, as one key part: the workspace ("T-T123"), or for
    an org-wide install the organisation ("E-E123"). Team ids are unique across Slack,
    so a workspace's installation is found by its team id alone, as background work
    (sweeps, the audit outbox) needs."""
    if is_enterprise_install or not team_id:
        return f"E-{enterprise_id or '-'}"
    return f"T-{team_id}"


class RedisInstallationStore(AsyncInstallationStore):
    """slack_sdk's AsyncInstallationStore on Redis, tokens encrypted."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, keyring: crypto.KeyRing,
                 logger: logging.Logger | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._keyring = keyring
        self._logger = logger or logging.getLogger("bot.installations")

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    @unavailable_on_redis_errors
    async def async_save(self, installation: Installation) -> None:
        owner = owner_of(installation.enterprise_id, installation.team_id,
                         installation.is_enterprise_install)
        user_key = self._keys.user_installation(owner, installation.user_id or "-")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.installation(owner),
                     self._seal(self._keys.installation(owner), installation.__dict__))
            pipe.set(user_key, self._seal(user_key, installation.__dict__))
            pipe.sadd(self._keys.installers(owner), installation.user_id or "-")
            await pipe.execute()
        await self.async_save_bot(installation.to_bot())

    @unavailable_on_redis_errors
    async def async_save_bot(self, bot: Bot) -> None:
        if bot.bot_token is None:
            return  # a user-only installation: no bot to remember
        key = self._keys.bot(owner_of(bot.enterprise_id, bot.team_id, bot.is_enterprise_install))
        await self._redis.set(key, self._seal(key, bot.__dict__))

    @unavailable_on_redis_errors
    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        key = self._keys.bot(owner_of(enterprise_id, team_id, is_enterprise_install))
        data = self._open(key, replies.optional_raw(await self._redis.get(key)))
        return Bot(**data) if data is not None else None

    @unavailable_on_redis_errors
    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False
                                      ) -> Installation | None:
        owner = owner_of(enterprise_id, team_id, is_enterprise_install)
        key = self._keys.installation(owner) if user_id is None else \
            self._keys.user_installation(owner, user_id)
        data = self._open(key, replies.optional_raw(await self._redis.get(key)))
        if data is None:
            return None
        installation = Installation(**data)
        if user_id is not None or installation.bot_token is None:
            # As slack_sdk's stores do: a user's installation carries the workspace's
            # latest bot token, which a later install may have replaced.
            bot = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                            is_enterprise_install=is_enterprise_install)
            if bot is not None and bot.bot_token != installation.bot_token:
                installation.bot_id, installation.bot_user_id = bot.bot_id, bot.bot_user_id
                installation.bot_token, installation.bot_scopes = bot.bot_token, bot.bot_scopes
                installation.bot_refresh_token = bot.bot_refresh_token
                installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    @unavailable_on_redis_errors
    async def has_installation(self, team_id: str) -> bool:
        """Whether a workspace's latest installation or bot is stored, readable or not
        (a value under a removed key still says the app was installed)."""
        owner = owner_of(None, team_id)
        # Both keys carry the hash tag {T-...}: one slot, one command.
        return bool(await self._redis.exists(self._keys.installation(owner),
                                             self._keys.bot(owner)))

    @unavailable_on_redis_errors
    async def async_delete_bot(self, *, enterprise_id: str | None,
                               team_id: str | None) -> None:
        await self._redis.delete(self._keys.bot(owner_of(enterprise_id, team_id)))

    @unavailable_on_redis_errors
    async def async_delete_installation(self, *, enterprise_id: str | None,
                                        team_id: str | None,
                                        user_id: str | None = None) -> None:
        owner = owner_of(enterprise_id, team_id)
        if user_id is not None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._keys.user_installation(owner, user_id))
                pipe.srem(self._keys.installers(owner), user_id)
                await pipe.execute()
            return
        users = replies.texts(await self._redis.smembers(self._keys.installers(owner)))
        await self._redis.delete(
            self._keys.installation(owner), self._keys.installers(owner),
            *(self._keys.user_installation(owner, u) for u in users))

    async def async_delete_all(self, *, enterprise_id: str | None,
                               team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    def _seal(self, key: str, data: dict[str, Any]) -> bytes:
        return crypto.encrypt(json.dumps(data).encode(), record_id=key, keyring=self._keyring)

    def _open(self, key: str, value: bytes | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            data = json.loads(crypto.decrypt(value, record_id=key, keyring=self._keyring))
        except (InvalidToken, ValueError):
            # A removed key or a damaged value: as good as not installed (the workspace
            # can install again); the key name says which one, the value is never logged.
            self._logger.error("an installation could not be decrypted: %s", key)
            return None
        return data if isinstance(data, dict) else None


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """OAuth `state` values: signed and dated (bot.crypto.oauth_state), so issuing one
    writes nothing; usable once, alive for `expiration_seconds`.

    Only a callback bearing a genuine, unexpired state writes: a mark named by its
    nonce, SET NX with the state's remaining life as TTL, so of two callbacks racing
    with one state at most one succeeds, across any number of bot processes.
    """

    def __init__(self, redis: RedisClient, *, keys: KeySpace, keyring: crypto.KeyRing,
                 expiration_seconds: int = STATE_SECONDS,
                 clock: Callable[[], float] = time.time,
                 logger: logging.Logger | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._keyring = keyring
        self._seconds = expiration_seconds
        self._clock = clock
        self._logger = logger or logging.getLogger("bot.installations")

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return oauth_state.issue(self._keyring, now=self._clock())

    @unavailable_on_redis_errors
    async def async_consume(self, state: str) -> bool:
        now = self._clock()
        try:
            stamp = oauth_state.verify(state or "", self._keyring, now=now,
                                       lifetime=self._seconds)
        except InvalidToken:
            return False
        alive = math.ceil(stamp.issued_at + self._seconds - now)
        return bool(await self._redis.set(self._keys.oauth_state(stamp.nonce), b"1",
                                          nx=True, ex=max(1, alive)))
