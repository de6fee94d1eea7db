"""Answering a click: opening a view, posting to its response_url, saying "busy"."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import render
from bot.background import Deadline
from bot.slack.calls import SLACK_FAILURES, failure_reason
from bot.slack.delivery import Delivery
from bot.slack.dm_channels import DmChannels


class Responder:
    """Answers to the person who clicked, through any workspace's client."""

    def __init__(self, *, http: aiohttp.ClientSession, logger: logging.Logger,
                 dm_channels: DmChannels) -> None:
        self._http = http
        self._logger = logger
        self._dms = dm_channels

    async def busy(self, response_url: object, *, client: AsyncWebClient | None = None,
                   user: str | None = None) -> None:
        """Tell someone privately that the bot could not act in time (nothing happened):
        through the interaction's response_url, or, where it has none (the Home tab, a
        shortcut), by DM."""
        if isinstance(response_url, str):
            await self.post_to_response_url(response_url, {**render.notice(render.BUSY),
                                                           "replace_original": False})
        elif client is not None and user:
            delivery = Delivery(client, logger=self._logger, dm_channels=self._dms)
            await delivery.dm(user, render.notice(render.BUSY))

    async def open_view(self, client: AsyncWebClient, trigger_id: object,
                        view: dict[str, Any], *, deadline: Deadline | None = None,
                        response_url: object = None, user: str | None = None) -> None:
        """views.open for a notice or a form; a failure is logged (nothing to undo). Past
        the trigger's deadline the person is told to try again instead."""
        if deadline is not None and deadline.expired():
            await self.busy(response_url, client=client, user=user)
            return
        if not isinstance(trigger_id, str) or not trigger_id:
            self._logger.warning("could not open a view: the request had no trigger")
            return
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SLACK_FAILURES as exc:
            self._logger.warning("could not open a view: %s", failure_reason(exc))

    async def post_to_response_url(self, url: str | None, message: dict[str, Any]) -> None:
        """Post to an interaction's response_url (replace, or a private reply); log faults."""
        if not url:
            return
        try:
            response = await AsyncWebhookClient(url, session=self._http).send_dict(message)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._logger.warning("response_url post failed: %s", type(exc).__name__)
            return
        if response.status_code != 200:
            self._logger.warning("response_url post refused: HTTP %s %s",
                                 response.status_code, response.body[:40])

    async def tell(self, url: str | None, text: str) -> None:
        """A private notice through an interaction's response_url (the original stays)."""
        await self.post_to_response_url(url, {**render.notice(text), "replace_original": False})
