"""What the soak finds at the end: Redis's secrets and audit stream, every modal and
message the bot sent to the Slack stand-in, the bot's log and Redis's files on disk."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from pathlib import Path

import redis

from bot.crypto import StaticKeyRing, decrypt, parse_keys
from bot.domain import SecretRecord, ViewState
from bot.errors import InvalidToken
from bot.render.audit import audit_line
from bot.storage import KeySpace, RedisSecretStore, connect
from bot.storage.audit_stream import decode
from bot.storage.keys import AuditKeys
from devtools.harness.redis_state import redis_contents, strings_in
from devtools.slack_stand_in import RecordedCall, SlackStandIn
from scripts.soak.invariants import (
    PASS_TOKEN,
    SECRET_TOKEN,
    AuditRecord,
    Display,
    Evidence,
    StoredSecret,
)
from scripts.soak.ledger import Ledger

PREFIX = "ss"
# Slack's answers to views.open / views.update that prove nothing was shown (the bot's
# own list, bot.handlers.reveal, is what it acts on; this one is what the soak believes).
NOT_SHOWN = {"invalid_trigger_id", "expired_trigger_id", "exchanged_trigger_id",
             "invalid_arguments", "view_too_large", "not_found", "ratelimited"}


def gather(*, ledger: Ledger, redis_url: str, keys: str, team_id: str, slack: SlackStandIn,
           audit_channel: str, bot_log: str, redis_dir: Path) -> Evidence:
    calls = slack.calls
    client = redis.Redis.from_url(redis_url)
    try:
        stream = client.xrange(AuditKeys(PREFIX).stream)
        dumped = b"\n".join(redis_contents(client))
    finally:
        client.close()
    events = [decode(event_id, fields) for event_id, fields in stream]
    return Evidence(
        stored=asyncio.run(_stored(ledger, redis_url, keys, team_id)),
        displays=[d for c in calls if (d := _display(c)) is not None],
        stream=[AuditRecord(e.action.value, e.code, e.actor, e.detail) for e in events],
        stream_lines=[audit_line(e) for e in events],
        posted_lines=audit_posts(calls, audit_channel),
        leaks={"Redis keys and values": markers([dumped.decode(errors="replace")]),
               "Redis append-only files": markers(_files(redis_dir)),
               "the bot's log": markers([bot_log]),
               "Slack calls other than reveals": markers(
                   s for c in calls if not is_reveal(c) for s in strings_in(dict(c.params)))},
        now=time.time())


async def _stored(ledger: Ledger, redis_url: str, keys: str,
                  team_id: str) -> dict[str, StoredSecret]:
    client = connect(redis_url)
    try:
        keyring = StaticKeyRing(parse_keys(keys))
        store = RedisSecretStore(client, keys=KeySpace(PREFIX), keyring=keyring,
                                 metadata_retention_seconds=3600)
        records = await store.in_team(team_id, start=0, count=10**7)
        found: dict[str, StoredSecret] = {}
        for record in records:
            token = await client.get(KeySpace(PREFIX).ciphertext(record.secret_id))
            found[record.label or record.code] = StoredSecret(
                code=record.code, label=record.label, status=record.status.value,
                revealable=await asyncio.to_thread(_opens, record, token, ledger, keyring),
                held_by=tuple(u for u, v in record.views.items() if v is ViewState.CLAIMED))
        return found
    finally:
        await client.aclose()


def _opens(record: SecretRecord, token: bytes | None, ledger: Ledger,
           keyring: StaticKeyRing) -> bool:
    """Whether the stored ciphertext decrypts to what the ledger says was shared."""
    share = ledger.shares.get(record.label or "")
    if token is None or share is None:
        return False
    try:
        shown = decrypt(token, record_id=record.secret_id, keyring=keyring,
                        passphrase=share.passphrase).decode()
    except (InvalidToken, UnicodeDecodeError):
        return False
    wanted = SECRET_TOKEN.search(share.plaintext)
    return wanted is not None and wanted.group() in shown


def is_reveal(call: RecordedCall) -> bool:
    """A modal showing a secret: the one place its plaintext may go."""
    view = call.params.get("view")
    return call.method in ("views.open", "views.update") and isinstance(view, dict) and \
        (view.get("title") or {}).get("text") == "Your secret"


def _display(call: RecordedCall) -> Display | None:
    if not is_reveal(call):
        return None
    found = SECRET_TOKEN.search(json.dumps(call.params["view"]))
    if found is None:
        return None
    not_shown = call.status == 429 or call.response.get("error") in NOT_SHOWN
    return Display(token=found.group(), trigger=call.params.get("trigger_id"),
                   view_id=call.params.get("view_id"), shown=call.ok,
                   maybe=call.ok or not not_shown)


def audit_posts(calls: Iterable[RecordedCall], channel: str) -> list[str]:
    """The lines the audit channel received (a post may carry several)."""
    return [line for c in calls if c.method == "chat.postMessage" and c.ok
            and c.params.get("channel") == channel
            for line in str(c.params.get("text") or "").split("\n")]


def markers(texts: Iterable[str]) -> list[str]:
    """Secret and passphrase markers found in these texts."""
    return [m.group() for text in texts for pattern in (SECRET_TOKEN, PASS_TOKEN)
            for m in pattern.finditer(text)]


def _files(directory: Path) -> list[str]:
    return [p.read_bytes().decode(errors="replace") for p in sorted(directory.rglob("*"))
            if p.is_file()]
