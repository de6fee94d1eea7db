"""API tokens: what a script presents to the HTTP API, created by a workspace's admin.

A token belongs to one workspace and acts there under its name (`api_principal`: the
audit log says "API token *deploy-bot*"). Only the SHA-256 digest of its bearer text is
stored (bot.api.bearer), with a record the key ring seals: someone who can write to Redis
cannot add a working token, nor move one to another workspace, rename it or redirect its
receipts, without the master key. `verify`, on the path of every API request, refuses a
malformed or mistyped token without a lookup, and otherwise costs one HGETALL.

Audit events for creating and revoking are recorded by the callers (the admin command,
the command line), which know who acted: bot.audit.events words them.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot import render
from bot.api.bearer import TOKEN_PREFIX, digest, new_bearer, well_formed
from bot.crypto import KeyRing, seal
from bot.domain import CLI_ACTOR, CODE_ALPHABET, api_principal
from bot.errors import ValidationFailed
from bot.storage.api_tokens import Added, Fields, RedisApiTokens, Resealed
from bot.storage.connection import RedisClient
from bot.storage.keys import KeySpace

__all__ = ["CLI_ACTOR", "MAX_TOKENS", "TOKEN_PREFIX", "ApiToken", "ApiTokens"]

MAX_NAME_CHARS = 40
# Enough for every script and pipeline of a workspace; a workspace with more is more
# likely leaking tokens than using them.
MAX_TOKENS = 50
ID_CHARS = 8
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# Where receipts may go: a channel (public or private) or a person, by Slack id.
_RECEIPTS_TO = re.compile(r"^[CGUW][A-Z0-9]{2,}$")
_SEAL_LABEL = "share-secret/api-token v1"
SEAL_FIELD = "mac"
_TRIES = 3  # a new id or bearer text already taken (ids: 39 bits; texts: never)
_WARNED_AT_MOST = 1024  # broken records remembered, so that each is logged once


@dataclass(frozen=True)
class ApiToken:
    """One live API token (never its bearer text)."""

    token_id: str  # public id, shown in lists and logs (unique within its workspace)
    team_id: str
    name: str
    created_at: float
    created_by: str  # the admin's Slack user id, or CLI_ACTOR
    receipts_to: str | None  # a channel (C…/G…) or person (U…/W…); None: the audit channel only

    @property
    def principal(self) -> str:
        """The sender and actor this token stands for."""
        return api_principal(self.token_id, self.name)


def check_name(name: str) -> None:
    """Raise ValidationFailed unless `name` is a token name (1-40 characters of a-z, 0-9,
    '.', '_', '-', starting with a letter or digit)."""
    if not (1 <= len(name) <= MAX_NAME_CHARS and _NAME.fullmatch(name)):
        raise ValidationFailed({"name": render.API_TOKEN_NAME_RULES})


def check_receipts_to(receipts_to: str | None) -> None:
    if receipts_to is not None and not _RECEIPTS_TO.fullmatch(receipts_to):
        raise ValidationFailed({"receipts_to": render.API_TOKEN_RECEIPTS_RULES})


def _record(token: ApiToken, token_digest: str) -> dict[str, str]:
    fields = {"team": token.team_id, "id": token.token_id, "name": token.name,
              "at": str(int(token.created_at)), "by": token.created_by, "h": token_digest}
    if token.receipts_to is not None:
        fields["to"] = token.receipts_to
    return fields


def _sealed_message(fields: Mapping[str, str]) -> bytes:
    """What a record's seal covers: every field but the seal, in a fixed order (absent
    ones as null), in an unambiguous encoding (JSON)."""
    values = [fields.get(name) for name in ("team", "id", "name", "at", "by", "to", "h")]
    return json.dumps([_SEAL_LABEL, values], ensure_ascii=True,
                      separators=(",", ":")).encode()


def _token_of(fields: Fields) -> ApiToken:
    """The token a record describes (its seal not checked here). Raises ValueError or
    KeyError for a record that is not one."""
    token = ApiToken(token_id=fields["id"], team_id=fields["team"], name=fields["name"],
                     created_at=float(int(fields["at"])), created_by=fields["by"],
                     receipts_to=fields.get("to"))
    check_name(token.name)
    return token


class ApiTokens:
    """Create, list, revoke and verify API tokens."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace, keyring: KeyRing,
                 clock: Callable[[], float] = time.time,
                 logger: logging.Logger | None = None) -> None:
        self._store = RedisApiTokens(redis, keys=keys)
        self._keyring = keyring
        self._clock = clock
        self._logger = logger or logging.getLogger("bot.api")
        self._warned: set[str] = set()

    async def create(self, *, team_id: str, name: str, created_by: str,
                     receipts_to: str | None = None) -> tuple[ApiToken, str]:
        """A new token of `team_id` and its bearer text, which is returned this once and
        never stored. Raises ValidationFailed for a bad name or receipts target, a name a
        live token has, or a workspace with MAX_TOKENS live tokens; StorageUnavailable."""
        check_name(name)
        check_receipts_to(receipts_to)
        for _ in range(_TRIES):
            token = ApiToken(token_id=_new_id(), team_id=team_id, name=name,
                             created_at=float(int(self._clock())), created_by=created_by,
                             receipts_to=receipts_to)
            bearer = new_bearer()
            token_digest = digest(bearer)
            record = _record(token, token_digest)
            record[SEAL_FIELD] = seal.seal(_sealed_message(record), self._keyring)
            added = await self._store.add(team_id=team_id, token_id=token.token_id, name=name,
                                          digest=token_digest, record=record, cap=MAX_TOKENS)
            if added is Added.CREATED:
                return token, bearer
            if added is Added.NAME_TAKEN:
                raise ValidationFailed({"name": render.api_token_name_taken(name)})
            if added is Added.FULL:
                raise ValidationFailed({"name": render.api_tokens_full(MAX_TOKENS)})
        raise RuntimeError("no free token id after several tries")

    async def list(self, team_id: str) -> list[ApiToken]:
        """The workspace's live tokens, oldest first (a record that fails its seal is left
        out, and logged)."""
        index = await self._store.index(team_id)
        ids = sorted(index.digests)
        found = []
        for token_id, fields in zip(ids, await self._store.records(
                [index.digests[i] for i in ids]), strict=True):
            if not fields:
                continue  # its record is gone: the index entry goes when it is revoked
            token = self._intact(fields, index.digests[token_id])
            if token is not None and token.team_id == team_id:
                found.append(token)
        return sorted(found, key=lambda t: (t.created_at, t.name))

    async def revoke(self, *, team_id: str, name_or_id: str) -> ApiToken | None:
        """Revoke the live token of `team_id` with this name (or, failing that, this id):
        its record is deleted at once, so every replica refuses it on the next request.
        The token as it was, or None when the workspace has no such live token."""
        wanted = name_or_id.strip()
        index = await self._store.index(team_id)
        # As typed first (names are lowercase, ids uppercase), then in either case.
        token_id = index.names.get(wanted) or (wanted if wanted in index.digests else None) \
            or index.names.get(wanted.lower()) or (
                wanted.upper() if wanted.upper() in index.digests else None)
        if token_id is None:
            return None
        token_digest = index.digests[token_id]
        fields = await self._store.remove(team_id=team_id, token_id=token_id,
                                          digest=token_digest)
        if fields is None:
            return None  # revoked meanwhile, by someone else
        try:
            return _token_of(fields)
        except (KeyError, ValueError, ValidationFailed):
            # Its record was gone or damaged: what the index said is all there is.
            return ApiToken(token_id=token_id, team_id=team_id,
                            name=index.name_of(token_id) or token_id, created_at=0.0,
                            created_by="", receipts_to=None)

    async def revoke_all(self, team_id: str) -> tuple[ApiToken, ...]:
        """Revoke every token of `team_id` (the app was removed from it): what they were."""
        index = await self._store.index(team_id)
        gone = [await self.revoke(team_id=team_id, name_or_id=token_id)
                for token_id in tuple(index.digests)]
        return tuple(token for token in gone if token is not None)

    async def verify(self, bearer: str) -> ApiToken | None:
        """The live token `bearer` is, or None: malformed or mistyped (decided without
        Redis), unknown, revoked, or its record failed its seal. One HGETALL."""
        if not well_formed(bearer):
            return None
        token_digest = digest(bearer)
        fields = await self._store.record(token_digest)
        return self._intact(fields, token_digest) if fields else None

    def _intact(self, fields: Fields, token_digest: str) -> ApiToken | None:
        """The token a record stored under `token_digest` describes, if its seal holds;
        None otherwise (logged once per record, by its id: never the token)."""
        # As bytes: a value changed in Redis may hold what compare_digest refuses in a str.
        named = hmac.compare_digest(fields.get("h", "").encode(), token_digest.encode())
        if named and seal.verify(_sealed_message(fields), fields.get(SEAL_FIELD),
                                 self._keyring):
            try:
                return _token_of(fields)
            except (KeyError, ValueError, ValidationFailed):
                pass
        if token_digest not in self._warned:
            if len(self._warned) >= _WARNED_AT_MOST:
                self._warned.clear()
            self._warned.add(token_digest)
            self._logger.warning(
                "an API token record failed its integrity check (changed in Redis, or "
                "sealed with a key not in ENCRYPTION_KEYS): refused; id=%s team=%s",
                fields.get("id", "?")[:16], fields.get("team", "?")[:16])
        return None

    # -- key rotation -----------------------------------------------------------------

    async def seal_key_ids(self) -> dict[str, int]:
        """How many token records each key id seals (`keys check`): a token stays valid
        while the key that sealed its record is in ENCRYPTION_KEYS."""
        counts: dict[str, int] = {}
        for _, fields in await self._store.every_record():
            key_id = seal.key_id_of(fields.get(SEAL_FIELD))
            if key_id is not None:  # none: not a seal at all, refused whatever the keys
                counts[key_id] = counts.get(key_id, 0) + 1
        return counts

    async def reseal(self) -> dict[str, int]:
        """Re-seal every intact token record under the ring's first key (`keys rotate`),
        by compare-and-set; counts by outcome: rotated, current, ended (revoked meanwhile),
        changed (re-sealed meanwhile: run again), refused (its seal fails: left as it is,
        and refused)."""
        first = self._keyring.encryption_key().key_id
        counts = dict.fromkeys(("rotated", "current", "ended", "changed", "refused"), 0)
        for token_digest, fields in await self._store.every_record():
            old = fields.get(SEAL_FIELD, "")
            if self._intact(fields, token_digest) is None:
                counts["refused"] += 1
            elif seal.key_id_of(old) == first:
                counts["current"] += 1
            else:
                new = seal.seal(_sealed_message(fields), self._keyring)
                done: Resealed = await self._store.reseal(token_digest, old=old, new=new)
                counts[done.value] += 1
        return counts


def _new_id() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(ID_CHARS))
