"""A secret's metadata hash, field by field: what CREATE writes and readers decode.

Short field names and omitted defaults, because this hash is most of a secret's memory
(bot.storage.secret_views_lua describes the fields the scripts change).

The fields that decide who may see a secret, when, how often and how are sealed
(bot.crypto.seal) in the field `mac`: id, team, sender, recipients, creation and expiry
times, view mode, channel, label, format, passphrase and notify flags, the audience, the
link key's check, where a non-Slack sender's receipts go, and the number of views in all.
That number is not a field: it is `left + used + claims`, which every script keeps the
same (a view moves between them), so views can be counted without the key while raising
`left` alone breaks the seal. What the scripts change (status, views used, each
recipient's `r:` state) is not sealed: see SECURITY.md for what that leaves.
A record whose seal does not verify, or that has none (written before seals existed),
is refused wherever the secret would be shown or a Reveal message sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.crypto import KeyRing, seal
from bot.domain import Audience, SecretRecord, Status, ViewState, code_of
from bot.options import Format, ViewLimit, ViewMode

# The sealed fields, in the order the message lists them (CLAIM reads them in this order).
SEALED_FIELDS = ("id", "team", "from", "to", "at", "exp", "mode", "ch", "lbl", "fmt", "pp",
                 "nt", "aud", "kv", "rto")
# The audience, the link check and where a non-Slack sender's receipts go came later: they
# join the message only when present (most secrets have none of them), so that seals made
# before them still verify, and adding, changing or removing one breaks the seal.
_LATER_FIELDS = ("aud", "kv", "rto")
SEAL_FIELD = "mac"
_SEAL_LABEL = "share-secret/meta v1"


def sealed_message(fields: Mapping[str, str], views_allowed: str | None) -> bytes:
    """What the seal covers: the sealed fields as stored (absent ones as null) and the
    views allowed in all (None: unlimited), in an unambiguous encoding (JSON)."""
    message: list[object] = [
        _SEAL_LABEL, [fields.get(name) for name in SEALED_FIELDS if name not in _LATER_FIELDS],
        views_allowed]
    message += [[name, fields[name]] for name in _LATER_FIELDS if fields.get(name) is not None]
    return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode()


def views_allowed_of(fields: Mapping[str, str]) -> str | None:
    """`left + used + claims` as stored (None when `left` is absent: unlimited).
    Raises ValueError when one of them is not a number."""
    if "left" not in fields:
        return None
    return str(sum(int(fields.get(name) or 0) for name in ("left", "used", "claims")))


def seal_of(fields: Mapping[str, Any], keyring: KeyRing) -> str:
    """The seal of a metadata hash's fields under the ring's first key."""
    text = {k: str(v) for k, v in fields.items()}
    return seal.seal(sealed_message(text, views_allowed_of(text)), keyring)


def intact(fields: Mapping[str, str], keyring: KeyRing) -> bool:
    """Whether a metadata hash as read carries a valid seal of its sealed fields."""
    try:
        allowed = views_allowed_of(fields)
    except ValueError:
        return False
    return seal.verify(sealed_message(fields, allowed), fields.get(SEAL_FIELD), keyring)


def meta_fields(record: SecretRecord, keyring: KeyRing) -> dict[str, Any]:
    """The fields CREATE writes, sealed under the ring's first key."""
    fields = _fields(record)
    fields[SEAL_FIELD] = seal_of(fields, keyring)
    return fields


def _fields(record: SecretRecord) -> dict[str, Any]:
    # Short names and omitted defaults: this hash is most of a secret's memory.
    fields: dict[str, Any] = {
        "id": record.secret_id,
        "team": record.team_id,
        "from": record.sender_id,
        "to": ",".join(record.recipients),
        "at": int(record.created_at),
        "exp": int(record.expires_at),
        "st": record.status.value,
        # `used` and `claims` start absent (HINCRBY counts from nothing): bytes per secret
        # matter at scale.
    }
    allowed = record.views_allowed
    if allowed is not None:
        fields["left"] = allowed
    if record.view_limit.mode is not ViewMode.EACH_ONCE:
        fields["mode"] = record.view_limit.mode.value
    if record.origin_channel:
        fields["ch"] = record.origin_channel
    if record.label:
        fields["lbl"] = record.label
    if record.format is not Format.TEXT:
        fields["fmt"] = record.format.value
    if record.has_passphrase:
        fields["pp"] = "1"
    if not record.notify:
        fields["nt"] = "0"
    if record.audience is not Audience.WORKSPACE:
        fields["aud"] = record.audience.value
    if record.link_check:
        fields["kv"] = record.link_check
    if record.receipts_to:
        fields["rto"] = record.receipts_to
    fields.update({f"r:{user}": "0" for user in record.recipients})
    return fields


def record_from(raw: Mapping[bytes, bytes], keyring: KeyRing) -> SecretRecord:
    """The record a metadata hash holds; `tampered` when its seal does not verify."""
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    secret_id = fields["id"]
    recipients = tuple(u for u in fields.get("to", "").split(",") if u)
    views: dict[str, ViewState] = {}
    viewed_at: dict[str, float] = {}
    for user in recipients:
        slot = fields.get(f"r:{user}", "0")
        if slot.startswith(("c", "s")):
            views[user] = ViewState.CLAIMED
            slot = slot.partition("|")[2]
        if slot.startswith("v"):
            views.setdefault(user, ViewState.VIEWED)
            viewed_at[user] = float(slot[1:])
        views.setdefault(user, ViewState.PENDING)
    mode = ViewMode(fields.get("mode", ViewMode.EACH_ONCE.value))
    dms = {k[2:]: tuple(v.rsplit(":", 1)) for k, v in fields.items() if k.startswith("d:")}
    return SecretRecord(
        secret_id=secret_id,
        code=code_of(secret_id),
        team_id=fields["team"],
        sender_id=fields["from"],
        recipients=recipients,
        created_at=float(fields["at"]),
        expires_at=float(fields["exp"]),
        origin_channel=fields.get("ch"),
        label=fields.get("lbl"),
        format=Format(fields.get("fmt", Format.TEXT.value)),
        view_limit=ViewLimit(mode, int(fields["left"]) + int(fields.get("used", 0))
                             + int(fields.get("claims", 0))
                             if mode is ViewMode.TOTAL else None),
        has_passphrase=fields.get("pp") == "1",
        notify=fields.get("nt", "1") == "1",
        status=Status(fields.get("st", "active")),
        views_used=int(fields.get("used", 0)),
        ended_at=float(fields["end"]) if "end" in fields else None,
        ended_by=fields.get("eby"),
        views=views,
        viewed_at=viewed_at,
        dm_messages={u: (c[0], c[1]) for u, c in dms.items() if len(c) == 2},
        audience=Audience(fields.get("aud", Audience.WORKSPACE.value)),
        link_check=fields.get("kv"),
        receipts_to=fields.get("rto"),
        tampered=not intact(fields, keyring),
    )
