"""Words about who can receive a secret: why someone cannot (a bot, deactivated, nobody
with that address), and what to do when Slack cannot be asked, or the bot may not ask it
for addresses. Plain text: they answer forms and API calls, not Slack messages."""

from __future__ import annotations

EMAIL_SCOPE = "users:read.email"
CANNOT_CHECK = "Couldn't check the recipients with Slack just now. Please try again."
UNKNOWN_USER = "an unknown user"
NOT_A_RECIPIENT = "neither a Slack user id (U… or W…) nor an email address"
NO_SUCH_ADDRESS = "nobody in this workspace has this address (or their account is deactivated)"
MISSING_EMAIL_SCOPE = (
    f"Slack recipients can be named by email address only when the app has the "
    f"{EMAIL_SCOPE} scope, which it lacks. A Slack admin can add it (the app's OAuth & "
    f"Permissions page, then reinstall the app); until then, name them by Slack user id.")


def a_bot(name: str) -> str:
    return f"{name} (a bot)"


def deactivated(name: str) -> str:
    return f"{name} (deactivated)"


def too_many_recipients(limit: int) -> str:
    return f"At most {limit} recipients."


def outside(name: str) -> str:
    return f"{name} (not in this workspace: share by link or email instead)"
