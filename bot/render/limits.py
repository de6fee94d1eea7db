"""What a person is told when they reach a rate limit (how many, and when to retry) or a
storage quota (what is held, and how to make room)."""

from __future__ import annotations

from bot.errors import QuotaExceeded, RateLimited
from bot.render.blocks import Message, View, modal, section
from bot.secrets.limits import Action, duration


def share_limited(limited: RateLimited) -> str:
    """The share form's error (plain text, next to the secret field)."""
    return (f"You've shared (or tried to share) {limited.limit} secrets in the last "
            f"{duration(limited.window)}, "
            f"the most allowed. Nothing was shared: please try again in "
            f"{duration(limited.retry_after)}.")


def share_limited_notice(limited: RateLimited) -> Message:
    """The private answer to `/share-secret` when the form could not be sent anyway."""
    return {"response_type": "ephemeral", "text": f":hourglass: {share_limited(limited)}"}


def reveal_limited_modal(limited: RateLimited) -> View:
    """The private answer to a Reveal click (or a passphrase) past the limit."""
    return modal("Share-secret", [section(
        f":hourglass: You've tried to open secrets {limited.limit} times in the last "
        f"{duration(limited.window)}, the most allowed. Please try again in "
        f"{duration(limited.retry_after)}. Nothing was used up: the secret is still there "
        "for you.")])


def request_limited_notice(limited: RateLimited) -> Message:
    """The private answer to `/share-secret request` past the request limit."""
    return {"response_type": "ephemeral", "text": (
        f":hourglass: You've asked for secrets {limited.limit} times in the last "
        f"{duration(limited.window)}, the most allowed. Nobody was asked: please try again "
        f"in {duration(limited.retry_after)}.")}


def too_many_asked(asked: int, most: int) -> Message:
    """The private answer to a request naming more people than one request may ask."""
    return {"response_type": "ephemeral", "text": (
        f":warning: A request can ask at most {most} people; you named {asked}. Nobody was "
        "asked: please name fewer.")}


REQUESTS_BUSY = ("Share-secret is sending too many requests for secrets right now. Nobody "
                 "was asked: please try again in a minute.")


def limited_detail(limited: RateLimited) -> str:
    """The audit line's detail: which limit, and for how long the person waits."""
    what = {Action.SHARE.value: "sharing",
            Action.REQUEST.value: "requests for secrets"}.get(limited.action, "reveal attempts")
    return (f"{what}: limit {limited.limit} per {duration(limited.window)}; next allowed in "
            f"{duration(limited.retry_after)}")


def share_over_quota(over: QuotaExceeded) -> str:
    """The share form's error when a storage cap is reached (plain text, next to the
    secret field)."""
    # The bytes cap also counts what ended secrets leave (their records, kept for a
    # while): revoking frees little of it, so the way out is a smaller share, or time.
    kept = f"for {over.kept_days} days" if over.kept_days else "for a while"
    if over.scope == "sender":
        if over.limit == "secrets":
            return (f"You have {over.held_secrets:,} active secrets, the most allowed. "
                    "Nothing was shared: revoke ones that are no longer needed "
                    "(/share-secret list), or wait until they are read or expire.")
        return (f"Your secrets take up {size(over.held_bytes)} of the {size(over.cap)} "
                f"allowed (active ones, and the records of ended ones, kept {kept}), and "
                "this one doesn't fit. Nothing was shared: try a shorter secret or fewer "
                "people, or wait until older records are cleared.")
    if over.limit == "secrets":
        return (f"This workspace has {over.held_secrets:,} active secrets, the most "
                "allowed. Nothing was shared: please try again once some are read or "
                "expire, or ask an admin.")
    return (f"This workspace's secrets take up {size(over.held_bytes)} of the "
            f"{size(over.cap)} allowed (active ones, and the records of ended ones, kept "
            f"{kept}), and this one doesn't fit. Nothing was shared: try a shorter secret "
            "or fewer people, or ask an admin.")


def share_over_quota_notice(over: QuotaExceeded) -> Message:
    """The private answer to `/share-secret` when the sender (or the workspace) already
    holds as many secrets as allowed: said before the form is filled in."""
    text = f":hourglass: {share_over_quota(over)}"
    return {"response_type": "ephemeral", "text": text, "blocks": [section(text)]}


def size(count: int) -> str:
    """Bytes in words: "980 bytes", "12 KB", "5 MB" (binary units, rounded)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            amount = round(count / scale, 0 if count >= 10 * scale else 1)
            return f"{amount:g} {unit}"
    return f"{count} bytes"
