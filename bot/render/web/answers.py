"""What the page's script shows after each POST: the `message` of every JSON answer."""

from __future__ import annotations

from bot.render.reveal import locked, wrong_passphrase
from bot.secrets.external import CodeOutcome, CodeResult, WebOutcome, WebRevealResult
from bot.secrets.limits import duration

GONE = "This secret is no longer available."
OPENING = ("This secret is being opened in another window or tab right now. If that was not "
           "you, try again in a moment.")
BUSY = ("Our storage is not answering right now. Nothing was used: please try again in a "
        "minute.")
BAD_REQUEST = ("This request could not be read. Nothing was used: reload the page and try "
               "again.")
INCOMPLETE_LINK = ("This link is incomplete: the part after # is missing or cut short. "
                   "Nothing was used: open the full link again from the message or email "
                   "you received.")
CROSS_ORIGIN = ("This request did not come from this page, so it was refused. Nothing was "
                "used.")
CODE_SENT = ("If the secret was shared with this address, a code is on its way to it. "
             "Type it below when it arrives (look in the spam folder too).")
NO_MAIL = ("Codes cannot be emailed at the moment. Nothing was used: ask the person who "
           "shared the secret.")


def reveal_message(result: WebRevealResult) -> str:
    """What the page says about a reveal's outcome (never the secret itself)."""
    match result.outcome:
        case WebOutcome.REVEALED:
            if result.last_view:
                return ("That was the last view: this link will not open it again. Copy "
                        "it now, before you leave the page.")
            return "This view has been counted. Copy the secret before you leave the page."
        case WebOutcome.GONE:
            return GONE
        case WebOutcome.CODE_NEEDED:
            return "Type your email address first: we will email you a code."
        case WebOutcome.WRONG_CODE:
            if result.tries_left is None:
                return "That code is not right."
            return (f"That code is not right. {result.tries_left} more "
                    f"{'try' if result.tries_left == 1 else 'tries'} before it stops "
                    "working.")
        case WebOutcome.CODE_VOID:
            return ("That code no longer works (it expired, or was mistyped too often). "
                    "Nothing was used: ask for a new code.")
        case WebOutcome.NEEDS_PASSPHRASE:
            return ("This secret is protected by a passphrase, which the person who "
                    "shared it gives you another way. Type it, then reveal.")
        case WebOutcome.WRONG_PASSPHRASE:
            if result.tries_left is None:
                return "That passphrase is not right."
            return wrong_passphrase(result.tries_left)
        case WebOutcome.LOCKED:
            return locked(result.retry_after or 0)
        case WebOutcome.RATE_LIMITED:
            return f"Too many tries. Nothing was used: please try again in {_wait(result)}."
        case WebOutcome.BUSY:
            return BUSY
        case WebOutcome.OPENING:
            return OPENING


def code_message(result: CodeResult) -> str:
    """What the page says about a code request: the same whether or not the address
    may open the secret."""
    match result.outcome:
        case CodeOutcome.SENT:
            return CODE_SENT
        case CodeOutcome.GONE:
            return GONE
        case CodeOutcome.RATE_LIMITED:
            return (f"Too many codes asked for. Please try again in {_wait(result)}.")
        case CodeOutcome.BUSY:
            return BUSY
        case CodeOutcome.NO_MAIL:
            return NO_MAIL


def _wait(result: WebRevealResult | CodeResult) -> str:
    return duration(result.retry_after) if result.retry_after else "a few minutes"
