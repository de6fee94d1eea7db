"""`/share-secret admin api-token create NAME [#channel|@person] | list | revoke NAME`,
once admin_commands has checked that the person is an admin. Not a listener.

A new token is shown once, in a window opened with the command's trigger: never in a
message, so never in chat history. If Slack cannot open that window, nobody saw the token
and it is revoked at once.
"""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.api.tokens import MAX_TOKENS, ApiToken, ApiTokens
from bot.audit import events
from bot.background import Deadline, Lane
from bot.errors import ValidationFailed
from bot.handlers.deps import Deps
from bot.slack.calls import SLACK_FAILURES, failure_reason, without_retries

# Channels as Slack escapes them in a command's text: <#C123> or <#C123|name>.
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>")
# Slack answers views.open within a second or so; the trigger itself lives 3 s.
OPEN_SECONDS = 2.5


async def command(ack: AsyncAck, client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                  rest: str, mentioned: list[str], trigger_id: object,
                  response_url: str | None) -> None:
    """One `api-token` verb (`rest`: the text after it) by an admin of `team`."""
    tokens = deps.api_tokens
    verb, _, args = rest.strip().partition(" ")
    verb = verb.lower()
    if tokens is None or verb not in {"create", "list", "revoke"}:
        await ack(**render.notice(render.API_TOKEN_USAGE))
    elif verb == "list":
        await ack(**render.api_token_list(await tokens.list(team), cap=MAX_TOKENS))
    elif verb == "revoke":
        await _revoke(ack, deps, tokens, team=team, user=user, wanted=args.strip())
    else:
        name = args.split()[0] if args.split() else ""
        channel = _CHANNEL.search(args)
        receipts_to = channel.group(1) if channel else (mentioned[0] if mentioned else None)
        await _create(ack, client, deps, tokens, team=team, user=user, name=name,
                      receipts_to=receipts_to, trigger_id=trigger_id,
                      response_url=response_url)


async def _revoke(ack: AsyncAck, deps: Deps, tokens: ApiTokens, *, team: str, user: str,
                  wanted: str) -> None:
    if not wanted:
        await ack(**render.notice(render.API_TOKEN_USAGE))
        return
    token = await tokens.revoke(team_id=team, name_or_id=wanted)
    if token is None:
        await ack(**render.notice(render.no_such_api_token(wanted)))
        return
    await deps.audit.record(events.api_token_revoked(token, at=deps.clock(), actor=user))
    await ack(**render.notice(render.api_token_revoked_notice(token)))


async def _create(ack: AsyncAck, client: AsyncWebClient, deps: Deps, tokens: ApiTokens, *,
                  team: str, user: str, name: str, receipts_to: str | None,
                  trigger_id: object, response_url: str | None) -> None:
    deadline = Deadline()
    # The window's place is taken before the token exists: a bot too busy to show it
    # creates nothing.
    slot = await deps.background.reserve(Lane.INTERACTIVE)
    if slot is None:
        await ack(**render.notice(render.BUSY))
        return
    try:
        token, bearer = await tokens.create(team_id=team, name=name, created_by=user,
                                            receipts_to=receipts_to)
    except ValidationFailed as exc:
        slot.release()
        await ack(**render.notice(render.api_token_problem(exc.errors)))
        return
    except BaseException:
        slot.release()
        raise
    await ack()
    slot.start(_show(client, deps, tokens, token, bearer, trigger_id=trigger_id,
                     deadline=deadline, response_url=response_url), name="show-api-token")


async def _show(client: AsyncWebClient, deps: Deps, tokens: ApiTokens, token: ApiToken,
                bearer: str, *, trigger_id: object, deadline: Deadline,
                response_url: str | None) -> None:
    """Open the window showing the token, then audit its creation; when Slack does not
    open it (or the trigger is too old), revoke the token: nobody has seen it."""
    actor = token.created_by
    shown = False
    if isinstance(trigger_id, str) and trigger_id and not deadline.expired():
        try:
            # Never retried: a retry after a lost answer would meet a used trigger.
            await without_retries(client, timeout=OPEN_SECONDS).views_open(
                trigger_id=trigger_id, view=render.api_token_modal(token, bearer))
            shown = True
        except SLACK_FAILURES as exc:
            deps.logger.warning("could not show a new API token (id=%s): %s",
                                token.token_id, failure_reason(exc))
    await deps.audit.record(events.api_token_created(token, at=token.created_at,
                                                     actor=actor))
    if shown:
        return
    if await tokens.revoke(team_id=token.team_id, name_or_id=token.token_id) is not None:
        await deps.audit.record(events.api_token_revoked(token, at=deps.clock(), actor=actor,
                                                         never_shown=True))
    await deps.respond.tell(response_url, render.API_TOKEN_NOT_SHOWN)
