"""A secret's metadata hash, field by field: what CREATE writes and readers decode.

Short field names and omitted defaults, because this hash is most of a secret's memory
(bot.storage.scripts describes the fields the scripts change).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import SecretRecord, Status, ViewState, code_of
from bot.options import Format, ViewLimit, ViewMode


def meta_fields(record: SecretRecord) -> dict[str, Any]:
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
    fields.update({f"r:{user}": "0" for user in record.recipients})
    return fields


def record_from(raw: Mapping[bytes, bytes]) -> SecretRecord:
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
    )
