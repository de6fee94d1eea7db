"""The Redis secret store: ciphertext and metadata in separate keys.

The ciphertext key carries the secret's TTL, so Redis itself enforces expiry; the
metadata hash outlives it by the retention period so the audit trail and the sender
can still name what happened. Values are raw ciphertext bytes and plain strings,
never pickle.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster

from bot.audit import owed as audit_owed
from bot.crypto import KeyRing
from bot.domain import HANDLE_LEN, AuditAction, SecretRecord, Status, code_of
from bot.errors import CodeTaken, StorageUnavailable
from bot.storage import replies, scripts
from bot.storage.connection import RedisClient, script_client
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace, handle
from bot.storage.quota import RedisQuota, footprint
from bot.storage.secret_fields import SEAL_FIELD, SEALED_FIELDS, intact, meta_fields, record_from

# Sender and team indexes keep ids for 30 days (the longest expiry); lists show no older.
SENDER_INDEX_SECONDS = 30 * 86400
INDEX_GRACE_SECONDS = 60
# A write the bot gave up on waits in Redis's socket buffer at most while Redis is frozen;
# it runs the moment Redis runs again, long before this mark expires.
WITHDRAWN_MARK_MS = 3600 * 1000



@dataclass(frozen=True)
class Guess:
    """A passphrase guess that a claim counts before it is checked: at most `tries` are
    counted within any `window_seconds`. `token` names it (random, made per attempt)."""

    token: str
    tries: int
    window_seconds: int


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: an outcome, and what the reveal needs when `claimed`."""

    outcome: str  # claimed | unknown | wrong_team | not_recipient | unavailable | locked
    #              | in_flight (this person's own reveal is already under way)
    #              | guessing (as many passphrase guesses as allowed are counted already)
    #              | tampered (the record's seal failed: refused, the view given back)
    ciphertext: bytes | None = None
    code: str | None = None
    sender_id: str | None = None
    label: str | None = None
    notify: bool = True
    has_passphrase: bool = False
    locked_ms: int = 0
    mode: str = "each"
    views_left: int | None = None  # after this claim, in all (None: unlimited)
    views_allowed: int | None = None  # in all, used or not (None: unlimited)


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
        self._create = redis.register_script(scripts.CREATE)
        # One server runs a pipeline's commands in the order sent; a Cluster does not.
        self._in_order = not isinstance(redis, RedisCluster)
        self._confirm = redis.register_script(scripts.CONFIRM)
        self._end = redis.register_script(scripts.END)
        self._fail = redis.register_script(scripts.FAIL)
        self._note = redis.register_script(scripts.NOTE)
        self._remind = redis.register_script(scripts.REMIND)
        self._return_stale = redis.register_script(scripts.RETURN_STALE)
        self._forget_claim = redis.register_script(scripts.FORGET_CLAIM)
        self._withdraw = redis.register_script(scripts.WITHDRAW)
        self._showing = redis.register_script(scripts.SHOWING)

    def with_keyring(self, keyring: KeyRing) -> RedisSecretStore:
        """The same store sealing and checking with another key ring (as a bot restarted
        with other ENCRYPTION_KEYS would)."""
        return RedisSecretStore(self._redis, keys=self._keys, keyring=keyring,
                                metadata_retention_seconds=self._retention_ms // 1000)

    @unavailable_on_redis_errors
    async def create(self, record: SecretRecord, ciphertext: bytes, *, now: float) -> None:
        """Store a new secret and index it; raise CodeTaken if its share code is used, and
        QuotaExceeded (storing nothing) when it would pass a storage cap."""
        ttl_ms = max(1, round((record.expires_at - now) * 1000))
        meta_ttl_ms = ttl_ms + self._retention_ms
        name = handle(record.secret_id)
        meta = meta_fields(record, self._keyring)
        fields = [item for pair in meta.items() for item in pair]
        if self._quota is not None:
            # A step of its own (the quota keys are in another Cluster slot), before
            # anything of the secret is written; given back below if the code is taken,
            # and by `withdraw` if storing is called off.
            await self._quota.reserve(
                team_id=record.team_id, sender_id=record.sender_id, handle=name,
                expires_at=record.expires_at, now=now,
                size=footprint(meta, ciphertext, len(record.recipients)),
                retention_seconds=self._retention_ms // 1000)
        sent = self._keys.by_sender(record.team_id, record.sender_id)
        keys = [self._keys.meta(name), self._keys.ciphertext(name), self._keys.withdrawn(name),
                self._keys.owed(name)]
        # Indexes first: an entry whose secret never got written is skipped by readers (who
        # check team and sender), while a secret missing from the expiry index would never
        # be swept. Then the secret itself, atomically, only if its code is free.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.expiries(), {name: record.expires_at}, nx=True)
            # Delivery is owed from the moment the secret exists, until `delivered`; and
            # so is its secret_created (CREATE notes it), until it is in the audit stream.
            pipe.zadd(self._keys.undelivered(), {name: now})
            pipe.zadd(self._keys.owed_index(), {name: now})
            for index in (sent, self._keys.by_team(record.team_id)):
                pipe.zadd(index, {name: record.created_at})
                pipe.zremrangebyscore(index, "-inf", now - SENDER_INDEX_SECONDS)
                pipe.pexpire(index, SENDER_INDEX_SECONDS * 1000 + self._retention_ms)
            if self._in_order:
                # In the same round trip, after the indexes (one server runs a pipeline in
                # order). By its text (EVAL): a registered script queued in a pipeline
                # first costs a round trip of its own (SCRIPT EXISTS).
                pipe.eval(scripts.CREATE, 4, *keys, ciphertext, ttl_ms, meta_ttl_ms, *fields)
            indexed = await pipe.execute()
        # A Cluster sends a pipeline's commands to their nodes at once: the secret only
        # after its indexes have been written.
        created = indexed[-1] if self._in_order else await self._create(
            keys=keys, args=[ciphertext, ttl_ms, meta_ttl_ms, *fields])
        if not created:
            if self._quota is not None:
                # Nothing of it was stored: nothing is kept either.
                await self._quota.release([(record.team_id, record.sender_id, name)],
                                          ended=False, now=now,
                                          retention_seconds=self._retention_ms // 1000)
            raise CodeTaken(record.code)

    async def ensure_room(self, *, team_id: str, sender_id: str, now: float) -> None:
        """Raise QuotaExceeded when the sender or the workspace holds as many secrets as
        allowed (counts nothing; `create` is the check that counts)."""
        if self._quota is not None:
            await self._quota.ensure_room(team_id=team_id, sender_id=sender_id, now=now,
                                          retention_seconds=self._retention_ms // 1000)

    @unavailable_on_redis_errors
    async def claim(self, secret_id: str, *, user_id: str, team_id: str, now: float,
                    guess: Guess | None = None) -> Claim:
        """Atomically hand out the ciphertext to a recipient with a view left (marked as
        being shown only later, by `showing`: a process that dies before then leaves a view
        that cannot have been shown, and the sweep gives it back).

        With a `guess` (a passphrase came with the attempt), a passphrase secret's claim
        also counts it, in the same step, before it is checked: refused ("guessing") while
        the guesses allowed are all counted. A counted guess is then settled by `showing`
        (right), `record_failure` (wrong) or `forget_guess` (not decidable)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            # Noted in the claims index in the same round trip (whether or not it is
            # granted: the stale-claim pass skips entries without a claim), so a view
            # handed out by a process that then dies can be found and given back.
            pipe.zadd(self._keys.claims(), {_claim_member(secret_id, user_id): now})
            # By its text (EVAL), like every script queued in a pipeline here: see `end`.
            pipe.eval(scripts.CLAIM, 5, self._keys.meta(secret_id),
                      self._keys.ciphertext(secret_id), self._keys.lock(secret_id),
                      self._keys.guesses(secret_id), self._keys.failures(secret_id),
                      user_id, team_id, int(now), secret_id,
                      guess.token if guess else "", guess.tries if guess else 0,
                      guess.window_seconds * 1000 if guess else 0)
            _, answer = await pipe.execute()
        reply = replies.array(answer)
        outcome = replies.text(reply[0])
        if outcome in _REFUSED and not int(reply[1]):
            # Nobody may view it: the index entry is taken back, so a refused click (a
            # hostile one included) leaves nothing behind. Only an entry still as this
            # call wrote it: a newer claim by the same person keeps its own.
            await self._forget_claim(keys=[self._keys.claims()],
                                     args=[_claim_member(secret_id, user_id), now])
        if outcome == "claimed" and not self._sealed_claim(reply, secret_id, user_id,
                                                           team_id, now):
            # Nothing decrypted or shown: the view goes back (the caller audits it).
            await self.release(secret_id, user_id=user_id)
            return Claim("tampered", code=code_of(secret_id))
        if outcome == "claimed":
            left, allowed = int(reply[7]), int(reply[8])
            return Claim(outcome, ciphertext=replies.raw(reply[1]), code=code_of(secret_id),
                         sender_id=replies.text(reply[2]),
                         label=replies.text(reply[3]) or None,
                         notify=reply[4] == b"1", has_passphrase=reply[5] == b"1",
                         mode=replies.text(reply[6]), views_left=None if left < 0 else left,
                         views_allowed=None if allowed < 0 else allowed)
        return Claim(outcome, code=code_of(secret_id) if outcome != "unknown" else None,
                     locked_ms=int(reply[1]) if outcome == "locked" else 0)

    def _sealed_claim(self, reply: list[Any], secret_id: str, user_id: str, team_id: str,
                      now: float) -> bool:
        """Whether a claim was granted on sealed metadata: its seal verifies, and the
        sealed values themselves let this person see it now (the script decided on the
        hash as it is, which the seal does not cover field by field: `r:` entries)."""
        values = replies.array(reply[9])
        fields = {name: replies.text(value)
                  for name, value in zip((*SEALED_FIELDS, SEAL_FIELD), values, strict=True)
                  if value is not None}
        if int(reply[7]) >= 0:
            # `left` is present: the views in all are the sum the script answered.
            fields.update(left=str(int(reply[8])))
        try:
            return (intact(fields, self._keyring) and fields.get("id") == secret_id
                    and fields.get("team") == team_id
                    and user_id in fields.get("to", "").split(",")
                    and float(fields.get("exp", "0")) > now)
        except ValueError:
            return False

    @unavailable_on_redis_errors
    async def confirm(self, secret_id: str, *, user_id: str, now: float, detail: str = "",
                      channel: str | None = None) -> tuple[str, int]:
        """Record a claimed view as seen: ("viewed" | "burned" | "not_claimed", views used).
        Its audit events are owed at once (bot.storage.owed): secret_opened with this
        `detail` and `channel`, and secret_burned when it was the last view."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.owed_index(), {handle(secret_id): now})
            pipe.eval(scripts.CONFIRM, 3, self._keys.meta(secret_id),
                      self._keys.ciphertext(secret_id), self._keys.owed(secret_id),
                      user_id, int(now), self._retention_ms, detail, channel or "")
            pipe.zrem(self._keys.claims(), _claim_member(secret_id, user_id))
            pipe.hmget(self._keys.meta(secret_id), "team", "from")
            _, answer, _, owner = await pipe.execute()
        state, used = replies.array(answer)
        if replies.text(state) == "burned":
            await self._give_back([(secret_id, owner)], now=now)
        return replies.text(state), int(used)

    @unavailable_on_redis_errors
    async def showing(self, secret_id: str, *, user_id: str, now: float,
                      guess: str | None = None) -> bool:
        """Mark a claimed view as being shown, just before Slack is asked to show it: a
        process dying after this may have shown it, so the sweep counts it as used
        instead of giving it back. False (do not show) when the claim is gone, or when
        the secret was revoked or has expired since it was claimed: that view is then
        given back. The claim's counted passphrase `guess` was right: it is uncounted."""
        marked = int(await self._showing(
            keys=[self._keys.meta(secret_id), self._keys.guesses(secret_id)],
            args=[user_id, int(now), guess or ""]))
        if marked < 0:
            # Given back in the script; its claims-index entry goes too (a rare path: the
            # reveal's usual round trips are not added to).
            await self._redis.zrem(self._keys.claims(), _claim_member(secret_id, user_id))
        return marked == 1

    @unavailable_on_redis_errors
    async def release(self, secret_id: str, *, user_id: str,
                      claimed_at: float | None = None, audited: str = "",
                      now: float = 0.0) -> bool:
        """Give a claimed view back (it could not be shown). With `claimed_at`, only the
        claim made at that time (one whose answer was lost in a Redis outage), so that a
        later click's claim is never taken away. With an `audited` detail, the give-back
        owes a reveal_failed event (bot.storage.owed), noted at `now`."""
        member = _claim_member(secret_id, user_id)
        keys = [self._keys.meta(secret_id), self._keys.owed(secret_id)]
        args = [user_id, "" if claimed_at is None else int(claimed_at), int(now), audited, ""]
        async with self._redis.pipeline(transaction=False) as pipe:
            if audited:
                pipe.zadd(self._keys.owed_index(), {handle(secret_id): now})
            pipe.eval(scripts.RELEASE, len(keys), *keys, *args)
            if claimed_at is None:
                pipe.zrem(self._keys.claims(), member)
            else:
                pipe.eval(scripts.FORGET_CLAIM, 1, self._keys.claims(), member, claimed_at)
            *_, released, _ = await pipe.execute()
        return bool(released)

    @unavailable_on_redis_errors
    async def withdraw(self, record: SecretRecord) -> bool:
        """Call off a share whose storing may or may not have happened (Redis stopped
        answering mid-way): remove it if it is there, and make sure a late write of it
        stores nothing. True when a stored secret was removed."""
        name = handle(record.secret_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            await self._withdraw(keys=[self._keys.meta(name), self._keys.ciphertext(name),
                                       self._keys.withdrawn(name), self._keys.owed(name)],
                                 args=[record.secret_id, WITHDRAWN_MARK_MS],
                                 client=script_client(pipe))
            pipe.zrem(self._keys.expiries(), name)
            pipe.zrem(self._keys.undelivered(), name)
            pipe.zrem(self._keys.owed_index(), name)
            pipe.zrem(self._keys.by_sender(record.team_id, record.sender_id), name)
            pipe.zrem(self._keys.by_team(record.team_id), name)
            removed, *_ = await pipe.execute()
        if self._quota is not None:
            # Whether or not it was stored: its room may have been reserved. Its metadata
            # is removed too: nothing is kept.
            await self._quota.release([(record.team_id, record.sender_id, name)],
                                      ended=False, now=time.time(),
                                      retention_seconds=self._retention_ms // 1000)
        return bool(removed)

    @unavailable_on_redis_errors
    async def delivered(self, secret_id: str,
                        dms: Mapping[str, tuple[str, str]] | None = None) -> None:
        """The Reveal messages and the receipt were sent (or given up on, and the sender
        told): nothing is owed any more. With `dms`, `note_dms` first, in the same round
        trip on one server (a Cluster runs a pipeline's nodes at once: two steps there)."""
        if dms and not self._in_order:
            await self.note_dms(secret_id, dms)
        async with self._redis.pipeline(transaction=False) as pipe:
            if dms and self._in_order:
                # By its text, as in `create`: no SCRIPT EXISTS round trip.
                pipe.eval(scripts.NOTE, 1, self._keys.meta(secret_id), *_dm_fields(dms))
            pipe.zrem(self._keys.undelivered(), handle(secret_id))
            await pipe.execute()

    @unavailable_on_redis_errors
    async def take_undelivered(self, *, cutoff: float, now: float,
                               limit: int) -> list[str]:
        """Handles of secrets whose delivery started at or before `cutoff` and never
        finished (the process sending them died); each is taken by one caller."""
        names = replies.texts(await self._redis.zrangebyscore(
            self._keys.undelivered(), "-inf", cutoff, start=0, num=limit))
        if not names:
            return []
        # Every take in one round trip, by the script's text (as in `create`).
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.eval(scripts.TAKE_DELIVERY, 1, self._keys.undelivered(), name, cutoff, now)
            taken = await pipe.execute()
        return [name for name, took in zip(names, taken, strict=True) if took]

    @unavailable_on_redis_errors
    async def return_stale_claims(self, *, cutoff: float, now: float, limit: int,
                                  returned: str = "", shown: str = ""
                                  ) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """Settle views claimed at or before `cutoff` and never confirmed or released
        (their process died mid-reveal): one not yet being shown is given back
        ("returned"); one Slack was already asked to show may have been seen, so it
        counts as used ("viewed", or "burned" when it was the last). Each owes its audit
        events (bot.storage.owed; `returned` and `shown` are their details). Returns
        (handle, user, outcome, the owed events' nonces); of several processes doing this
        at once, each is settled by one."""
        members = replies.texts(await self._redis.zrangebyscore(
            self._keys.claims(), "-inf", cutoff, start=0, num=limit))
        settled: list[tuple[str, str, str, tuple[str, ...]]] = []
        for member in members:
            name, _, user = member.partition("|")
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(self._keys.owed_index(), {name: now})
                pipe.hget(self._keys.meta(name), "id")
                await self._return_stale(keys=[self._keys.meta(name), self._keys.owed(name)],
                                         args=[user, int(cutoff), int(now), returned],
                                         client=script_client(pipe))
                _, secret_id, answer = await pipe.execute()
            found, claimed = (int(v) for v in replies.array(answer))
            full = replies.optional_text(secret_id) or name
            if found == 1:
                settled.append((name, user, "returned",
                                (audit_owed.returned_nonce(full, user, int(claimed)),)))
            elif found == 2:
                state, used = replies.array(await self._confirm(
                    keys=[self._keys.meta(name), self._keys.ciphertext(name),
                          self._keys.owed(name)],
                    args=[user, int(now), self._retention_ms, shown, ""]))
                outcome = replies.text(state)
                if outcome == "burned":
                    await self._give_back([(name, await self._redis.hmget(
                        self._keys.meta(name), "team", "from"))], now=now)
                if outcome != "not_claimed":
                    nonces = (audit_owed.opened_nonce(full, int(used)),) + (
                        (audit_owed.burned_nonce(full),) if outcome == "burned" else ())
                    settled.append((name, user, outcome, nonces))
            await self._forget_claim(keys=[self._keys.claims()], args=[member, cutoff])
        return settled

    @unavailable_on_redis_errors
    async def record_failure(self, secret_id: str, *, guess: str, allowed: int,
                             window_seconds: int, lock_seconds: int) -> tuple[int, bool]:
        """The counted `guess` was a wrong passphrase: it stays counted, and the secret is
        locked when `allowed` wrong ones are reached within the window. Returns the wrong
        guesses within the window, and whether this one locked it."""
        failures, locked = await self._fail(
            keys=[self._keys.guesses(secret_id), self._keys.lock(secret_id),
                  self._keys.failures(secret_id)],
            args=[guess, allowed, window_seconds * 1000, lock_seconds * 1000])
        return int(failures), bool(locked)

    @unavailable_on_redis_errors
    async def forget_guess(self, secret_id: str, *, guess: str) -> None:
        """Uncount a guess that could not be checked (the secret's key is gone, or its data
        damaged): not the person's doing."""
        await self._redis.zrem(self._keys.guesses(secret_id), f"p:{guess}")

    @unavailable_on_redis_errors
    async def end(self, secret_id: str, *, status: Status, now: float,
                  actor: str | None = None,
                  action: AuditAction = AuditAction.SECRET_REVOKED) -> tuple[str, int]:
        """End an active secret (revoked or expired) and delete its ciphertext; the audit
        event `action` is owed at once (bot.storage.owed).

        Returns the status it had ("active" means this call ended it; anything else,
        "burned", "revoked", "unknown", "not_due" ..., means it did nothing) and how
        many views were in flight at that moment (handed out, perhaps being read).
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.owed_index(), {handle(secret_id): now})
            # By its text (EVAL): a pipeline queuing a registered script first asks Redis
            # whether it has it (SCRIPT EXISTS), a round trip more than the EVALSHA this was.
            pipe.eval(scripts.END, 3, self._keys.meta(secret_id),
                      self._keys.ciphertext(secret_id), self._keys.owed(secret_id),
                      status.value, int(now), actor or "", self._retention_ms, action.value)
            pipe.hmget(self._keys.meta(secret_id), "team", "from")
            _, answer, owner = await pipe.execute()
        previous, in_flight = replies.array(answer)
        if replies.text(previous) == "active":
            await self._give_back([(secret_id, owner)], now=now)
        return replies.text(previous), int(in_flight)

    @unavailable_on_redis_errors
    async def end_many(self, secret_ids: list[str], *, status: Status,
                       now: float) -> list[str]:
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
        previous = [replies.text(replies.array(r)[0]) for r in answers[0::2]]
        await self._give_back([(i, owner) for i, p, owner in
                               zip(secret_ids, previous, answers[1::2], strict=True)
                               if p == "active"], now=now)
        return previous

    async def _give_back(self, ended: list[tuple[str, object]], *, now: float) -> None:
        """Give back the quota room of secrets that just ended, as (id, HMGET of their
        metadata's team and sender), but their metadata's part, counted while it is kept
        (the retention from now, as the ending script set its TTL). Should this step be
        lost (the process dies first), that happens at the secret's expiry time all the
        same."""
        if self._quota is None:
            return
        owners = []
        for secret_id, owner in ended:
            team, sender = (replies.optional_text(v) for v in replies.array(owner))
            if team and sender:
                owners.append((team, sender, handle(secret_id)))
        with contextlib.suppress(StorageUnavailable):
            # The secret has ended all the same: its room comes back at its expiry time
            # (its metadata's part, after the retention from then).
            await self._quota.release(owners, ended=True, now=now,
                                      retention_seconds=self._retention_ms // 1000)

    @unavailable_on_redis_errors
    async def get_many(self, handles: list[str]) -> list[SecretRecord]:
        """The metadata of several secrets by handle, in one round trip (gone ones left
        out)."""
        if not handles:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in handles:
                pipe.hgetall(self._keys.meta(name))
            found = [replies.fields(f) for f in await pipe.execute()]
        return [record_from(f, self._keyring) for f in found if f]

    @unavailable_on_redis_errors
    async def get(self, secret: str) -> SecretRecord | None:
        """A secret's metadata by id (which must match in full) or by share code; None
        when it is unknown or its retention has passed."""
        fields = replies.fields(await self._redis.hgetall(self._keys.meta(secret)))
        if not fields:
            return None
        record = record_from(fields, self._keyring)
        by_code = len(secret.replace("-", "")) == HANDLE_LEN
        return record if by_code or record.secret_id == secret else None

    @unavailable_on_redis_errors
    async def sent_by(self, team_id: str, user_id: str, *, limit: int) -> list[SecretRecord]:
        """A sender's most recent secrets, newest first (forgetting ones past retention)."""
        key = self._keys.by_sender(team_id, user_id)
        entries = replies.scored(await self._redis.zrevrange(key, 0, limit - 1,
                                                             withscores=True))
        ids = [i for i, _ in entries]
        records = [r for r in await self.get_many(ids)
                   if r.team_id == team_id and r.sender_id == user_id]
        found = {handle(r.secret_id) for r in records}
        # Forget entries whose secret is gone, but not fresh ones: the index is written
        # just before the secret itself.
        stale = [i for i, created in entries
                 if i not in found and created < time.time() - INDEX_GRACE_SECONDS]
        if stale:
            await self._redis.zrem(key, *stale)
        return records

    @unavailable_on_redis_errors
    async def in_team(self, team_id: str, *, start: int, count: int) -> list[SecretRecord]:
        """A workspace's secrets, newest first, `count` index entries from `start` (some
        may be gone past retention and are left out)."""
        key = self._keys.by_team(team_id)
        ids = replies.texts(await self._redis.zrevrange(key, start, start + count - 1))
        # A handle can be reused once an old secret's metadata is gone: check it is theirs.
        return [r for r in await self.get_many(ids) if r.team_id == team_id]

    @unavailable_on_redis_errors
    async def by_sender_page(self, team_id: str, user_id: str, *, start: int,
                             count: int) -> list[SecretRecord]:
        """One sender's secrets, newest first, `count` index entries from `start`."""
        key = self._keys.by_sender(team_id, user_id)
        ids = replies.texts(await self._redis.zrevrange(key, start, start + count - 1))
        return [r for r in await self.get_many(ids)
                if r.team_id == team_id and r.sender_id == user_id]

    @unavailable_on_redis_errors
    async def due(self, *, now: float, limit: int) -> list[str]:
        """Ids whose expiry time has come, oldest first."""
        return replies.texts(await self._redis.zrangebyscore(
            self._keys.expiries(), "-inf", now, start=0, num=limit))

    @unavailable_on_redis_errors
    async def drop(self, secret_ids: list[str]) -> int:
        """Remove ids from the expiry index; returns how many were there."""
        if not secret_ids:
            return 0
        return int(await self._redis.zrem(self._keys.expiries(),
                                          *(handle(i) for i in secret_ids)))

    @unavailable_on_redis_errors
    async def expiring(self, *, until: float) -> tuple[float | None, list[str]]:
        """Ids expiring after the reminder cursor and up to `until`; and the cursor."""
        raw = await self._redis.get(self._keys.reminded_until())
        since = float(raw) if raw else None
        ids = await self._redis.zrangebyscore(
            self._keys.expiries(), f"({since}" if since is not None else "-inf", until)
        return since, replies.texts(ids)

    @unavailable_on_redis_errors
    async def move_reminder_cursor(self, until: float) -> None:
        await self._redis.set(self._keys.reminded_until(), repr(until))

    @unavailable_on_redis_errors
    async def take_reminder(self, secret_id: str) -> bool:
        """Mark a secret reminded; True only for the first caller (HSETNX), and only while
        its metadata exists."""
        return bool(await self._remind(keys=[self._keys.meta(secret_id)]))

    @unavailable_on_redis_errors
    async def note_dms(self, secret_id: str, dms: Mapping[str, tuple[str, str]]) -> None:
        """Remember where recipients' Reveal DMs are, so revoke and expiry can update them.
        Only while the secret's metadata exists: never recreate a hash that has gone."""
        await self._note(keys=[self._keys.meta(secret_id)], args=_dm_fields(dms))

    @unavailable_on_redis_errors
    async def ping(self) -> bool:
        return bool(await self._redis.ping())


_REFUSED = {"unknown", "wrong_team", "not_recipient"}


def _dm_fields(dms: Mapping[str, tuple[str, str]]) -> list[str]:
    return [item for user, (channel, ts) in dms.items()
            for item in (f"d:{user}", f"{channel}:{ts}")]


def _claim_member(secret_id: str, user_id: str) -> str:
    return f"{handle(secret_id)}|{user_id}"
