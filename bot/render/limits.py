"""What a person is told when they reach a rate limit: how many, and when to retry."""

from __future__ import annotations

from bot.errors import RateLimited
from bot.limits import Action, duration
from bot.render.blocks import Message, View, modal, section


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
