"""What admins are told about API tokens: `/share-secret admin api-token ...`, the window
that shows a new token once, and the rules a name and a receipts target follow (the same
words at the command line)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.render.blocks import (
    Block,
    Message,
    View,
    context,
    escape,
    modal,
    section,
    slack_date,
    who,
)

if TYPE_CHECKING:
    from bot.api.tokens import ApiToken

API_TOKEN_USAGE = (
    "API tokens let scripts share secrets through the HTTP API: "
    "`/share-secret admin api-token create NAME [#channel|@person]` (the token is shown "
    "once; receipts of what it shares go to that channel or person, and to the audit "
    "channel), `/share-secret admin api-token list`, "
    "`/share-secret admin api-token revoke NAME`.")
API_TOKEN_NAME_RULES = ("A token name is 1 to 40 characters: lowercase letters, digits, "
                        "'.', '_' and '-', starting with a letter or a digit (deploy-bot, "
                        "ci.staging).")
API_TOKEN_RECEIPTS_RULES = ("Receipts go to a Slack channel (an id starting with C or G) or "
                            "a person (U or W).")
API_TOKEN_NOT_SHOWN = (":warning: Slack couldn't show the new API token, so it was revoked "
                       "at once: it can never be used. Please try again.")
_LINES_PER_SECTION = 10  # a section holds 3000 characters; a line takes up to ~250


def api_token_name_taken(name: str) -> str:
    return (f"A live API token is already named {name}: pick another name, or revoke "
            "that one first.")


def api_tokens_full(cap: int) -> str:
    return (f"This workspace has {cap} API tokens, the most allowed. Revoke one it no "
            "longer needs first.")


def api_token_problem(errors: dict[str, str]) -> str:
    """A refused `api-token create`, for the admin (the rule or the conflict)."""
    return ":warning: " + " ".join(errors.values())


def receipts_target(receipts_to: str | None) -> str:
    """Where a token's receipts go, in mrkdwn."""
    if receipts_to is None:
        return "the audit channel only"
    return f"<#{receipts_to}>" if receipts_to[0] in "CG" else f"<@{receipts_to}>"


def api_token_modal(token: ApiToken, bearer: str) -> View:
    """The one place a token's bearer text is shown: a window, never a message."""
    return modal("New API token", [
        section(f"API token *{escape(token.name)}* (id `{token.token_id}`) for this "
                f"workspace. Receipts of the secrets it shares go to "
                f"{receipts_target(token.receipts_to)}"
                f"{'' if token.receipts_to is None else ', and to the audit channel'}."),
        # Preformatted rich text shows the token verbatim, ready to copy.
        {"type": "rich_text", "elements": [{"type": "rich_text_preformatted",
                                            "elements": [{"type": "text", "text": bearer}]}]},
        context(":warning: *Copy it now: it won't be shown again.* share-secret keeps only "
                "a hash of it. If it is lost, revoke it and create another."),
        context("Scripts send it as `Authorization: Bearer <token>`. Keep it in your "
                "secret store, never in code or chat."),
    ], close="Done")


def api_token_list(tokens: Sequence[ApiToken], *, cap: int) -> Message:
    """`admin api-token list`: the workspace's live tokens, by id and name."""
    if not tokens:
        body = ("No API tokens in this workspace. "
                "`/share-secret admin api-token create NAME` makes one.")
        return {"response_type": "ephemeral", "text": body, "blocks": [section(body)]}
    lines = [f"`{t.token_id}` *{escape(t.name)}* · created {slack_date(t.created_at)} by "
             f"{who(t.created_by)} · receipts to {receipts_target(t.receipts_to)}"
             for t in tokens]
    title = f"*API tokens* ({len(tokens)} of at most {cap}):"
    blocks: list[Block] = [section(title)] + [
        section("\n".join(lines[i:i + _LINES_PER_SECTION]))
        for i in range(0, len(lines), _LINES_PER_SECTION)]
    return {"response_type": "ephemeral", "text": title + "\n" + "\n".join(lines),
            "blocks": blocks}


def api_token_revoked_notice(token: ApiToken) -> str:
    return (f":wastebasket: Revoked API token *{escape(token.name)}* (id "
            f"`{token.token_id}`): requests with it are refused from now on.")


def no_such_api_token(wanted: str) -> str:
    shown = escape(wanted).replace("`", "'")
    return (f"No live API token of this workspace is named `{shown}` or has that "
            "id. `/share-secret admin api-token list` shows them.")

