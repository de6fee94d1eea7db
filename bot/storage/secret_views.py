"""Viewing a secret: claim, showing, confirm, release, and settling what a dead process
left claimed. The scripts are in bot.storage.secret_views_lua; their replies are turned
into named fields in bot.storage.secret_outcomes.
"""

from __future__ import annotations

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from bot.audit import owed as audit_owed
from bot.crypto import KeyRing
from bot.domain import StaleOutcome, code_of
from bot.storage import replies
from bot.storage.connection import RedisClient, script_client
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace, handle
from bot.storage.lua import FORGET_UNLESS_NEWER
from bot.storage.quota import RedisQuota, give_back
from bot.storage.rate_counter import RATE, RateStep, rate_wait_ms
from bot.storage.secret_fields import intact
from bot.storage.secret_outcomes import (
    REFUSED,
    Claim,
    ClaimOutcome,
    ClaimReply,
    ConfirmOutcome,
    Guess,
    Stale,
    claim_reply,
    confirm_reply,
    stale_reply,
)
from bot.storage.secret_views_lua import (
    CLAIM,
    CLAIM_HERE,
    CONFIRM,
    FAIL,
    RELEASE_VIEW,
    RETURN_STALE,
    SHOWING,
)


class SecretViews:
    """The viewing half of the secret store (RedisSecretStore hands these calls here)."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, keyring: KeyRing,
                 retention_ms: int, quota: RedisQuota | None) -> None:
        self._redis = redis
        self._keys = keys
        self._keyring = keyring
        self._retention_ms = retention_ms
        self._quota = quota
        self._confirm = redis.register_script(CONFIRM)
        self._fail = redis.register_script(FAIL)
        self._return_stale = redis.register_script(RETURN_STALE)
        self._forget_claim = redis.register_script(FORGET_UNLESS_NEWER)
        self._showing = redis.register_script(SHOWING)
        self._rate = redis.register_script(RATE)
        self._shas = {CLAIM_HERE: redis.register_script(CLAIM_HERE).sha}
        self._one_server = not isinstance(redis, RedisCluster)

    async def _give_back(self, ended: list[tuple[str, object]], *, now: float) -> None:
        await give_back(self._quota, ended, now=now, retention_seconds=self._retention_ms // 1000)

    @unavailable_on_redis_errors
    async def claim(self, secret_id: str, *, user_id: str, team_id: str, now: float,
                    guess: Guess | None = None, showing: bool = False,
                    rate: RateStep | None = None) -> Claim:
        """Atomically hand out the ciphertext to a recipient with a view left, marked as
        being shown only later, by `showing`: a process that dies before then leaves a view
        that cannot have been shown, and the sweep gives it back. With `showing`, the
        caller shows it straight away (nothing that waits in between), so a secret without
        a passphrase is marked as being shown in this step (`Claim.showing`), one round
        trip fewer; a passphrase secret still waits for its check.

        With a `guess` (a passphrase came with the attempt), a passphrase secret's claim
        also counts it, in the same step, before it is checked: refused ("guessing") while
        the guesses allowed are all counted. A counted guess is then settled by `showing`
        (right), `record_failure` (wrong) or `forget_guess` (not decidable).

        With a `rate`, the person's attempt is taken in first (their reveal limit, the
        click's replay mark): REPEATED or LIMITED, claiming nothing, when it is refused.
        On one server in the claim's own step, which also notes a view it hands out in the
        claims index; on a Cluster, whose slots keep those keys apart, the attempt is
        taken in a step before, and the note is written in the claim's round trip and
        taken back if the claim is refused."""
        keys = [self._keys.meta(secret_id), self._keys.ciphertext(secret_id),
                self._keys.lock(secret_id), self._keys.guesses(secret_id),
                self._keys.failures(secret_id)]
        args: list[str | int | float] = [
            user_id, team_id, int(now), secret_id, guess.token if guess else "",
            guess.tries if guess else 0, guess.window_seconds * 1000 if guess else 0,
            "1" if showing else "0"]
        member = _claim_member(secret_id, user_id)
        if self._one_server:
            answer = await self._by_sha(CLAIM_HERE, [*keys, self._keys.claims(), *(
                rate.keys(self._keys) if rate else [])], [*args, member, now, *(
                rate.args() if rate else [])])
            return await self._checked(claim_reply(answer, secret_id), secret_id, user_id,
                                       team_id, now)
        if rate is not None:
            wait_ms = rate_wait_ms(await self._rate(keys=rate.keys(self._keys),
                                                    args=rate.args()))
            if wait_ms is None or wait_ms > 0:
                return Claim(ClaimOutcome.REPEATED if wait_ms is None else ClaimOutcome.LIMITED,
                             code=code_of(secret_id), wait_ms=wait_ms or 0)
        async with self._redis.pipeline(transaction=False) as pipe:
            # Noted in the claims index in the same round trip (whether or not it is
            # granted: the stale-claim pass skips entries without a claim), so a view
            # handed out by a process that then dies can be found and given back.
            pipe.zadd(self._keys.claims(), {member: now})
            # By its text (EVAL), as every script queued in a pipeline: see the store's `end`.
            pipe.eval(CLAIM, len(keys), *keys, *args)
            _, answer = await pipe.execute()
        reply = claim_reply(answer, secret_id)
        if reply.claim.outcome in REFUSED and not reply.held:
            # Nobody may view it: the index entry is taken back, so a refused click (a
            # hostile one included) leaves nothing behind. Only an entry still as this
            # call wrote it: a newer claim by the same person keeps its own.
            await self._forget_claim(keys=[self._keys.claims()], args=[member, now])
        return await self._checked(reply, secret_id, user_id, team_id, now)

    async def _by_sha(self, script: str, keys: list[str], args: list[str | int | float]
                      ) -> object:
        """A script by its SHA (EVALSHA): the claim is the hottest, and sending its 4 KB of
        text each time cost the bot and Redis more than the rest of the step. A Redis that
        lost its scripts (a restart, a flush, a failover) answers NOSCRIPT, and the script
        goes again by its text, which loads it."""
        try:
            return await self._redis.evalsha(self._shas[script], len(keys), *keys, *args)
        except NoScriptError:
            return await self._redis.eval(script, len(keys), *keys, *args)

    async def _checked(self, reply: ClaimReply, secret_id: str, user_id: str, team_id: str,
                       now: float) -> Claim:
        """The claim, once its seal is checked (a view handed out on a record whose seal
        fails is given back: TAMPERED)."""
        outcome = reply.claim.outcome
        if outcome is ClaimOutcome.CLAIMED and not self._sealed_claim(
                reply.sealed, secret_id, user_id, team_id, now):
            # Nothing decrypted or shown: the view goes back (the caller audits it).
            await self.release(secret_id, user_id=user_id)
            return Claim(ClaimOutcome.TAMPERED, code=code_of(secret_id))
        return reply.claim

    def _sealed_claim(self, fields: dict[str, str], secret_id: str, user_id: str,
                      team_id: str, now: float) -> bool:
        """Whether a claim was granted on sealed metadata: its seal verifies, and the
        sealed values themselves let this person see it now (the script decided on the
        hash as it is, which the seal does not cover field by field: `r:` entries)."""
        try:
            return (intact(fields, self._keyring) and fields.get("id") == secret_id
                    and fields.get("team") == team_id
                    and user_id in fields.get("to", "").split(",")
                    and float(fields.get("exp", "0")) > now)
        except ValueError:
            return False

    @unavailable_on_redis_errors
    async def confirm(self, secret_id: str, *, user_id: str, now: float, detail: str = "",
                      channel: str | None = None,
                      give_back: bool = True) -> tuple[ConfirmOutcome, int]:
        """Record a claimed view as seen: (what it did, views used). Its audit events are
        owed at once (bot.storage.owed): secret_opened with this `detail` and `channel`,
        and secret_burned when it was the last view. A burned secret's quota room is
        given back here unless `give_back` is False: then the caller lets go of it later,
        with others (bot.secrets.followups), and at its expiry time all the same."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.owed_index(), {handle(secret_id): now})
            pipe.eval(CONFIRM, 3, self._keys.meta(secret_id),
                      self._keys.ciphertext(secret_id), self._keys.owed(secret_id),
                      user_id, int(now), self._retention_ms, detail, channel or "")
            pipe.zrem(self._keys.claims(), _claim_member(secret_id, user_id))
            if give_back:
                pipe.hmget(self._keys.meta(secret_id), "team", "from")
            _, answer, *rest = await pipe.execute()
        state, used = confirm_reply(answer)
        if state is ConfirmOutcome.BURNED and give_back:
            await self._give_back([(secret_id, rest[1])], now=now)
        return state, used

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
            pipe.eval(RELEASE_VIEW, len(keys), *keys, *args)
            if claimed_at is None:
                pipe.zrem(self._keys.claims(), member)
            else:
                pipe.eval(FORGET_UNLESS_NEWER, 1, self._keys.claims(), member, claimed_at)
            *_, released, _ = await pipe.execute()
        return bool(released)

    @unavailable_on_redis_errors
    async def return_stale_claims(self, *, cutoff: float, now: float, limit: int,
                                  returned: str = "", shown: str = ""
                                  ) -> list[tuple[str, str, StaleOutcome, tuple[str, ...]]]:
        """Settle views claimed at or before `cutoff` and never confirmed or released
        (their process died mid-reveal): one not yet being shown is given back
        (RETURNED); one Slack was already asked to show may have been seen, so it
        counts as used (VIEWED, or BURNED when it was the last). Each owes its audit
        events (bot.storage.owed; `returned` and `shown` are their details). Returns
        (handle, user, outcome, the owed events' nonces); of several processes doing this
        at once, each is settled by one."""
        members = replies.texts(await self._redis.zrangebyscore(
            self._keys.claims(), "-inf", cutoff, start=0, num=limit))
        settled: list[tuple[str, str, StaleOutcome, tuple[str, ...]]] = []
        for member in members:
            name, _, user = member.partition("|")
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(self._keys.owed_index(), {name: now})
                pipe.hget(self._keys.meta(name), "id")
                await self._return_stale(keys=[self._keys.meta(name), self._keys.owed(name)],
                                         args=[user, int(cutoff), int(now), returned],
                                         client=script_client(pipe))
                _, secret_id, answer = await pipe.execute()
            found, claimed = stale_reply(answer)
            full = replies.optional_text(secret_id) or name
            if found is Stale.RETURNED:
                settled.append((name, user, StaleOutcome.RETURNED,
                                (audit_owed.returned_nonce(full, user, claimed),)))
            elif found is Stale.SHOWN:
                outcome, used = confirm_reply(await self._confirm(
                    keys=[self._keys.meta(name), self._keys.ciphertext(name),
                          self._keys.owed(name)],
                    args=[user, int(now), self._retention_ms, shown, ""]))
                if outcome is ConfirmOutcome.BURNED:
                    await self._give_back([(name, await self._redis.hmget(
                        self._keys.meta(name), "team", "from"))], now=now)
                if outcome is not ConfirmOutcome.NOT_CLAIMED:
                    nonces = (audit_owed.opened_nonce(full, used),) + (
                        (audit_owed.burned_nonce(full),)
                        if outcome is ConfirmOutcome.BURNED else ())
                    settled.append((name, user, StaleOutcome(outcome.value), nonces))
            await self._forget_claim(keys=[self._keys.claims()], args=[member, cutoff])
        return settled

    @unavailable_on_redis_errors
    async def record_failure(self, secret_id: str, *, guess: str, allowed: int,
                             window_seconds: int, lock_seconds: int) -> tuple[int, bool]:
        """The counted `guess` was a wrong passphrase: it stays counted, and the secret is
        locked when `allowed` wrong ones are reached within the window. Returns the wrong
        guesses within the window, and whether this one locked it."""
        failures, locked = replies.array(await self._fail(
            keys=[self._keys.guesses(secret_id), self._keys.lock(secret_id),
                  self._keys.failures(secret_id)],
            args=[guess, allowed, window_seconds * 1000, lock_seconds * 1000]))
        return int(failures), bool(locked)

    @unavailable_on_redis_errors
    async def forget_guess(self, secret_id: str, *, guess: str) -> None:
        """Uncount a guess that could not be checked (the secret's key is gone, or its data
        damaged): not the person's doing."""
        await self._redis.zrem(self._keys.guesses(secret_id), f"p:{guess}")


def _claim_member(secret_id: str, user_id: str) -> str:
    return f"{handle(secret_id)}|{user_id}"

