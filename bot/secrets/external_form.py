"""Validation of a share for people outside Slack: the addresses, and the workspace's
policy (bot.secrets.external.ExternalPolicy), on top of the share form's usual checks.

Errors are keyed by form field, as bot.secrets.share_form's are.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.domain import LINK_PRINCIPAL, Audience, ShareForm, email_principal
from bot.errors import ValidationFailed
from bot.mail.address import plain_address
from bot.secrets.external import ExternalPolicy
from bot.secrets.limits import duration
from bot.secrets.share_form import ValidShare, validate

MAX_EMAILS = 64
_SEPARATORS = re.compile(r"[,;\s]+")


def parse_addresses(text: str) -> tuple[tuple[str, ...], str | None]:
    """The addresses typed (commas, semicolons or new lines between them), lower-cased and
    without repeats; or a message naming what is wrong."""
    found: list[str] = []
    bad: list[str] = []
    for word in _SEPARATORS.split(text.strip()):
        if not word.strip().strip("<>"):
            continue
        address = plain_address(word)
        if address is None:
            bad.append(word[:40])
        elif address not in found:
            found.append(address)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        return (), f"These are not email addresses: {shown}."
    if not found:
        return (), "Type at least one email address."
    if len(found) > MAX_EMAILS:
        return (), f"At most {MAX_EMAILS} addresses."
    return tuple(found), None


def validate_external(form: ShareForm, policy: ExternalPolicy
                      ) -> tuple[ValidShare, tuple[str, ...]]:
    """Check a share for an external audience: the form's usual fields, the addresses and
    the workspace's policy. Returns the checked share and its recipients (principals)."""
    errors: dict[str, str] = {}
    principals: tuple[str, ...] = (LINK_PRINCIPAL,)
    if not policy.enabled:
        errors["audience"] = ("Your workspace's admins have turned off sharing outside "
                              "Slack. Choose people in this workspace.")
    if form.audience is Audience.EMAIL:
        addresses, problem = parse_addresses(form.emails or "")
        outside = [a for a in addresses if not _allowed(a, policy.allowed_domains)]
        if problem is None and outside:
            problem = (f"Your workspace allows only addresses at "
                       f"{', '.join(policy.allowed_domains)}. Remove {', '.join(outside[:3])}"
                       + (f" and {len(outside) - 3} more." if len(outside) > 3 else "."))
        if problem is not None:
            errors["emails"] = problem
        principals = tuple(email_principal(a) for a in addresses)
    valid: ValidShare | None = None
    try:
        # The usual checks; the recipients are the principals, checked above.
        valid = validate(replace(form, recipients=(LINK_PRINCIPAL,)))
    except ValidationFailed as exc:
        errors = {**exc.errors, **errors}
    if valid is not None:
        if (form.audience is Audience.LINK and policy.link_needs_passphrase
                and valid.passphrase is None):
            errors["passphrase"] = ("Your workspace asks for a passphrase on secrets that "
                                    "anyone with the link can open.")
        cap = policy.max_expiry_seconds
        if cap is not None and valid.lifetime > cap:
            field = "custom_expiry" if (form.custom_expiry or "").strip() else "expiry"
            errors[field] = (f"Secrets shared outside Slack can last at most "
                             f"{_days_or_hours(cap)} in this workspace.")
    if errors:
        raise ValidationFailed(errors)
    assert valid is not None
    return valid, principals


def _allowed(address: str, domains: tuple[str, ...]) -> bool:
    """Whether an address's domain is allowed: any when none are listed; a listed domain
    allows its subdomains too."""
    if not domains:
        return True
    domain = address.rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in domains)


def _days_or_hours(seconds: int) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    return duration(seconds)
