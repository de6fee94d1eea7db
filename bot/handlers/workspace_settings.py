"""A workspace's own settings, for its admins, when several workspaces share one
deployment: `/share-secret admin channel #channel | add @person | remove @person`.
(With one bot token, the operator's AUDIT_CHANNEL_ID and ADMIN_USER_IDS apply instead.)
"""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.audit import events
from bot.handlers.deps import Deps
from bot.slack.calls import SLACK_FAILURES, failure_reason
from bot.storage.team_settings import TeamSettingsStore

VERBS = frozenset({"channel", "add", "remove"})
# Channels as Slack escapes them in a command's text: <#C123> or <#C123|name>.
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>")


async def command(ack: AsyncAck, client: AsyncWebClient, deps: Deps, *, team: str, user: str,
                  verb: str, rest: str, mentioned: list[str],
                  response_url: str | None) -> None:
    """One settings verb, by someone already known to be an admin of `team`."""
    store = deps.team_settings
    if store is None:
        await ack(**render.notice(render.ONE_WORKSPACE))
        return
    if verb == "channel":
        match = _CHANNEL.search(rest)
        if match is None:
            await ack(**render.notice(render.SETTINGS_USAGE))
            return
        channel = match.group(1)
        await ack(**render.notice(render.checking_channel_notice(channel)))
        deps.background.later(_set_channel(client, deps, store, team=team, user=user,
                                           channel=channel, response_url=response_url),
                              name="set-audit-channel")
        return
    if not mentioned:
        await ack(**render.notice(render.SETTINGS_USAGE))
        return
    who = mentioned[0]
    if verb == "add":
        await store.add_admin(team, who)
        text, detail = render.admin_added_notice(who), f"admin added: {who}"
    else:
        removed = await store.remove_admin(team, who)
        text, detail = render.admin_removed_notice(who, removed), f"admin removed: {who}"
    await deps.audit.record(events.settings_changed(at=deps.clock(), actor=user,
                                                    team_id=team, what=detail))
    await ack(**render.notice(text))


async def _set_channel(client: AsyncWebClient, deps: Deps, store: TeamSettingsStore, *,
                       team: str, user: str, channel: str, response_url: str | None) -> None:
    previous = (await store.get(team)).audit_channel
    previous = previous if previous != channel else None
    # A first post proves the bot may write there (a member, the channel in this
    # workspace) before the setting changes; audit events are never posted into the void.
    try:
        await client.chat_postMessage(channel=channel,
                                      **render.audit_channel_hello(user, previous))
    except SLACK_FAILURES as exc:
        await deps.respond.post_to_response_url(response_url, render.notice(
            render.channel_refused_notice(channel, failure_reason(exc))))
        return
    await store.set_audit_channel(team, channel)
    detail = "audit channel chosen"
    if previous is not None:
        # Those who watch the old channel must see the move there: events from now on,
        # this one included, go only to the new one.
        detail = f"audit channel moved from {previous} to {channel}"
        try:
            await client.chat_postMessage(channel=previous,
                                          **render.audit_channel_moved(user, channel))
        except SLACK_FAILURES as exc:
            detail += f"; the previous channel could not be told ({failure_reason(exc)})"
    await deps.audit.record(events.settings_changed(at=deps.clock(), actor=user,
                                                    team_id=team, channel=channel,
                                                    what=detail))
    await deps.respond.post_to_response_url(response_url,
                                            render.notice(render.channel_set_notice(channel)))
