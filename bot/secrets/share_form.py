"""Validation of the share form: raw strings in, a checked `ValidShare` out.

Errors are keyed by form field (the share modal's block ids are the same names) and
worded for the sender.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from bot.domain import (
    MAX_LABEL_CHARS,
    MAX_PASSPHRASE_CHARS,
    MAX_RECIPIENTS,
    MAX_SECRET_CHARS,
    MIN_PASSPHRASE_CHARS,
    ShareForm,
)
from bot.errors import ValidationFailed
from bot.options import (
    MAX_EXPIRY_SECONDS,
    MAX_TOTAL_VIEWS,
    MIN_EXPIRY_SECONDS,
    Expiry,
    Format,
    ViewLimit,
    ViewMode,
    parse_duration,
)

E = TypeVar("E", Format, ViewMode)
# Where a non-Slack sender's receipts may go: a channel (C…, G…) or a person (U…, W…).
_RECEIPTS_TO = re.compile(r"^[CGUW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class ValidShare:
    """The share form, checked."""

    text: str
    lifetime: int
    format: Format
    view_limit: ViewLimit
    label: str | None
    passphrase: str | None


def validate(form: ShareForm) -> ValidShare:
    """Check every field; raise ValidationFailed naming each bad one."""
    errors: dict[str, str] = {}
    if not form.recipients:
        errors["recipients"] = "Pick at least one person to share the secret with."
    elif len(form.recipients) > MAX_RECIPIENTS:
        errors["recipients"] = f"Pick at most {MAX_RECIPIENTS} people."
    if form.text is None or not form.text.strip():
        errors["secret"] = "Type or paste the secret to share."
    elif len(form.text) > MAX_SECRET_CHARS:
        errors["secret"] = f"A secret can be at most {MAX_SECRET_CHARS} characters."
    lifetime = _lifetime(form, errors)
    view_limit = _view_limit(form, errors)
    fmt = _enum(Format, form.format, Format.TEXT, "format", errors)
    label = (form.label or "").strip() or None
    if label and len(label) > MAX_LABEL_CHARS:
        errors["label"] = f"A label can be at most {MAX_LABEL_CHARS} characters."
    passphrase = form.passphrase if form.passphrase and form.passphrase.strip() else None
    if passphrase is not None and not (
            MIN_PASSPHRASE_CHARS <= len(passphrase.strip()) <= MAX_PASSPHRASE_CHARS):
        errors["passphrase"] = (f"A passphrase needs {MIN_PASSPHRASE_CHARS} to "
                                f"{MAX_PASSPHRASE_CHARS} characters.")
    if form.receipts_to is not None and not _RECEIPTS_TO.fullmatch(form.receipts_to):
        errors["receipts_to"] = "A Slack channel id (C… or G…) or user id (U… or W…)."
    if errors:
        raise ValidationFailed(errors)
    assert form.text is not None
    assert lifetime is not None
    assert view_limit is not None
    assert fmt is not None
    return ValidShare(form.text, lifetime, fmt, view_limit, label, passphrase)


def _lifetime(form: ShareForm, errors: dict[str, str]) -> int | None:
    if form.custom_expiry and form.custom_expiry.strip():
        seconds = parse_duration(form.custom_expiry)
        if seconds is None or not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS:
            errors["custom_expiry"] = ("Between 5 minutes and 30 days, written like 45m, "
                                       "12h or 3d.")
        return seconds
    preset = Expiry.parse(form.expiry_seconds) if form.expiry_seconds else Expiry.default()
    if preset is None:
        errors["expiry"] = "Choose one of the expiry options."
        return None
    return preset.value


def _view_limit(form: ShareForm, errors: dict[str, str]) -> ViewLimit | None:
    mode = _enum(ViewMode, form.view_mode, ViewMode.EACH_ONCE, "views", errors)
    if mode is not ViewMode.TOTAL:
        return ViewLimit(mode) if mode else None
    raw = (form.total_views or "").strip()
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_TOTAL_VIEWS:
        errors["total_views"] = f"For a total number of views, give a number from 1 to " \
                                f"{MAX_TOTAL_VIEWS}."
        return None
    return ViewLimit(ViewMode.TOTAL, int(raw))


def _enum(kind: type[E], raw: str | None, default: E, field: str,
          errors: dict[str, str]) -> E | None:
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        errors[field] = "Choose one of the options."
        return None
