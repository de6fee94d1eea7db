"""The Redis secret store: ciphertext and metadata in separate keys. This module ends
secrets; storing one (bot.storage.secret_writes), viewing one (bot.storage.secret_views)
and browsing them (bot.storage.secret_index) are parts of their own, which
RedisSecretStore hands calls to.

The ciphertext key carries the secret's TTL, so Redis itself enforces expiry; the
metadata hash outlives it by the retention period so the audit trail and the sender
can still name what happened. Values are raw ciphertext bytes and plain strings,
never pickle.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.crypto import KeyRing
from bot.domain import AuditAction, EndOutcome, SecretRecord, StaleOutcome, Status
from bot.storage.connection import RedisClient, script_client
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace, handle
from bot.storage.link_views import LinkViews
from bot.storage.quota import RedisQuota, give_back
from bot.storage.rate_counter import RateStep
from bot.storage.secret_index import SecretIndex
from bot.storage.secret_outcomes import (
    Claim,
    ConfirmOutcome,
    Guess,
    end_reply,
)
from bot.storage.secret_views import SecretViews
from bot.storage.secret_writes import SecretWrites
from bot.storage.secrets_store_lua import END


class RedisSecretStore:
    """Secrets in Redis. The connection is passed in; keys come from a KeySpace. The key
    ring seals each secret's metadata when it is stored and checks the seal wherever it
    is read (bot.storage.secret_fields)."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, keyring: KeyRing,
                 metadata_retention_seconds: int, quota: RedisQuota | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._keyring = keyring
        self._quota = quota
        self._retention_ms = metadata_retention_seconds * 1000
        self._end = redis.register_script(END)
        self._writes = SecretWrites(redis, keys=keys, keyring=keyring,
                                    retention_ms=self._retention_ms, quota=quota)
        self._views = SecretViews(redis, keys=keys, keyring=keyring,
                                  retention_ms=self._retention_ms, quota=quota)
        self._index = SecretIndex(redis, keys=keys, keyring=keyring)
        self.link_views = LinkViews(redis, keys=keys, retention_ms=self._retention_ms,
                                    quota=quota)

    def with_keyring(self, keyring: KeyRing) -> RedisSecretStore:
        """The same store sealing and checking with another key ring (as a bot restarted
        with other ENCRYPTION_KEYS would)."""
        return RedisSecretStore(self._redis, keys=self._keys, keyring=keyring,
                                metadata_retention_seconds=self._retention_ms // 1000)

    async def create(self, record: SecretRecord, ciphertext: bytes, *, now: float) -> None:
        await self._writes.create(record, ciphertext, now=now)

    async def ensure_room(self, *, team_id: str, sender_id: str, now: float) -> None:
        """Raise QuotaExceeded when the sender or the workspace holds as many secrets as
        allowed (counts nothing; `create` is the check that counts)."""
        if self._quota is not None:
            await self._quota.ensure_room(team_id=team_id, sender_id=sender_id, now=now,
                                          retention_seconds=self._retention_ms // 1000)

    # -- viewing (bot.storage.secret_views) ---------------------------------------------

    async def claim(self, secret_id: str, *, user_id: str, team_id: str, now: float,
                    guess: Guess | None = None, showing: bool = False,
                    rate: RateStep | None = None) -> Claim:
        return await self._views.claim(secret_id, user_id=user_id, team_id=team_id,
                                       now=now, guess=guess, showing=showing, rate=rate)

    async def showing(self, secret_id: str, *, user_id: str, now: float,
                      guess: str | None = None) -> bool:
        return await self._views.showing(secret_id, user_id=user_id, now=now, guess=guess)

    async def confirm(self, secret_id: str, *, user_id: str, now: float, detail: str = "",
                      channel: str | None = None,
                      give_back: bool = True) -> tuple[ConfirmOutcome, int]:
        return await self._views.confirm(secret_id, user_id=user_id, now=now,
                                         detail=detail, channel=channel, give_back=give_back)

    async def release(self, secret_id: str, *, user_id: str,
                      claimed_at: float | None = None, audited: str = "",
                      now: float = 0.0) -> bool:
        return await self._views.release(secret_id, user_id=user_id, claimed_at=claimed_at,
                                         audited=audited, now=now)

    async def return_stale_claims(self, *, cutoff: float, now: float, limit: int,
                                  returned: str = "", shown: str = ""
                                  ) -> list[tuple[str, str, StaleOutcome, tuple[str, ...]]]:
        return await self._views.return_stale_claims(cutoff=cutoff, now=now, limit=limit,
                                                     returned=returned, shown=shown)

    async def record_failure(self, secret_id: str, *, guess: str, allowed: int,
                             window_seconds: int, lock_seconds: int) -> tuple[int, bool]:
        return await self._views.record_failure(
            secret_id, guess=guess, allowed=allowed, window_seconds=window_seconds,
            lock_seconds=lock_seconds)

    async def forget_guess(self, secret_id: str, *, guess: str) -> None:
        await self._views.forget_guess(secret_id, guess=guess)

    # -- storing and ending ---------------------------------------------------------------

    async def withdraw(self, record: SecretRecord) -> bool:
        return await self._writes.withdraw(record)

    @unavailable_on_redis_errors
    async def end(self, secret_id: str, *, status: Status, now: float,
                  actor: str | None = None,
                  action: AuditAction = AuditAction.SECRET_REVOKED) -> tuple[EndOutcome, int]:
        """End an active secret (revoked or expired) and delete its ciphertext; the audit
        event `action` is owed at once (bot.storage.owed).

        Returns what it found (EndOutcome.ENDED: this call ended it) and how many views
        were in flight at that moment (handed out, perhaps being read).
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.owed_index(), {handle(secret_id): now})
            # By its text (EVAL): a pipeline queuing a registered script first asks Redis
            # whether it has it (SCRIPT EXISTS), a round trip more than the EVALSHA this was.
            pipe.eval(END, 3, self._keys.meta(secret_id),
                      self._keys.ciphertext(secret_id), self._keys.owed(secret_id),
                      status.value, int(now), actor or "", self._retention_ms, action.value)
            pipe.hmget(self._keys.meta(secret_id), "team", "from")
            _, answer, owner = await pipe.execute()
        previous, in_flight = end_reply(answer)
        if previous is EndOutcome.ENDED:
            await self._give_back([(secret_id, owner)], now=now)
        return previous, in_flight

    @unavailable_on_redis_errors
    async def end_many(self, secret_ids: list[str], *, status: Status,
                       now: float) -> list[EndOutcome]:
        """`end` for many secrets in one round trip (the sweep's batch)."""
        if not secret_ids:
            return []
        action = AuditAction.SECRET_EXPIRED if status is Status.EXPIRED \
            else AuditAction.SECRET_REVOKED
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.owed_index(), {handle(i): now for i in secret_ids})
            for secret_id in secret_ids:
                await self._end(keys=[self._keys.meta(secret_id),
                                      self._keys.ciphertext(secret_id),
                                      self._keys.owed(secret_id)],
                                args=[status.value, int(now), "", self._retention_ms,
                                      action.value],
                                client=script_client(pipe))
                pipe.hmget(self._keys.meta(secret_id), "team", "from")
            answers = (await pipe.execute())[1:]
        previous = [end_reply(r)[0] for r in answers[0::2]]
        await self._give_back([(i, owner) for i, p, owner in
                               zip(secret_ids, previous, answers[1::2], strict=True)
                               if p is EndOutcome.ENDED], now=now)
        return previous

    async def _give_back(self, ended: list[tuple[str, object]], *, now: float) -> None:
        await give_back(self._quota, ended, now=now, retention_seconds=self._retention_ms // 1000)

    # -- browsing (bot.storage.secret_index) ----------------------------------------------

    async def get_many(self, handles: list[str]) -> list[SecretRecord]:
        return await self._index.get_many(handles)

    async def get(self, secret: str) -> SecretRecord | None:
        return await self._index.get(secret)

    async def sent_by(self, team_id: str, user_id: str, *, limit: int) -> list[SecretRecord]:
        return await self._index.sent_by(team_id, user_id, limit=limit)

    async def in_team(self, team_id: str, *, start: int, count: int) -> list[SecretRecord]:
        return await self._index.in_team(team_id, start=start, count=count)

    async def by_sender_page(self, team_id: str, user_id: str, *, start: int,
                             count: int) -> list[SecretRecord]:
        return await self._index.by_sender_page(team_id, user_id, start=start, count=count)

    async def due(self, *, now: float, limit: int) -> list[str]:
        return await self._index.due(now=now, limit=limit)

    async def drop(self, secret_ids: list[str]) -> int:
        return await self._index.drop(secret_ids)

    async def expiring(self, *, until: float) -> tuple[float | None, list[str]]:
        return await self._index.expiring(until=until)

    async def move_reminder_cursor(self, until: float) -> None:
        await self._index.move_reminder_cursor(until)

    async def take_reminder(self, secret_id: str) -> bool:
        return await self._index.take_reminder(secret_id)

    async def delivered(self, secret_id: str,
                        dms: Mapping[str, tuple[str, str]] | None = None) -> None:
        await self._index.delivered(secret_id, dms)

    async def take_undelivered(self, *, cutoff: float, now: float, limit: int) -> list[str]:
        return await self._index.take_undelivered(cutoff=cutoff, now=now, limit=limit)

    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None:
        await self._index.note_dms(secret_id, dms)

    @unavailable_on_redis_errors
    async def ping(self) -> bool:
        return bool(await self._redis.ping())

