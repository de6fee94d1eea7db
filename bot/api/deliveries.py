"""What follows an API request, after its answer, through the workspace's Slack client:
the Reveal messages of a secret for Slack users and the receipt, the link mailed to an
email audience, the notices of a revoke. As the Slack flow does it (the share form's
handler, bot.secrets.notices), for a caller that has only a team id.

A process that stops before its deliveries have gone leaves the secret marked
undelivered in Redis: the sweep sends its Reveal messages (bot.secrets.expiry).
"""

from __future__ import annotations

import logging

from bot.domain import SecretRecord
from bot.errors import ShareSecretError, StorageUnavailable
from bot.render.share import link_not_mailed_notice
from bot.secrets.expiry import NoticesByTeam
from bot.secrets.external import ExternalShare, LinksMailer
from bot.secrets.lifecycle import LifecycleService
from bot.secrets.web_parts import NameSource


class ApiDeliveries:
    def __init__(self, *, notices: NoticesByTeam, lifecycle: LifecycleService,
                 mailer: LinksMailer | None, names: NameSource,
                 logger: logging.Logger) -> None:
        self._notices = notices
        self._lifecycle = lifecycle
        self._mailer = mailer
        self._names = names
        self._logger = logger

    async def delivered(self, record: SecretRecord) -> None:
        """Reveal messages to its Slack recipients, then the receipt; noted as delivered."""
        notices = await self._notices.for_team(record.team_id)
        if notices is None:
            return  # not installed any more: nobody can be told; the sweep will retry
        report = await notices.announce(record)
        try:
            await self._lifecycle.delivered(record, report.direct)
        except StorageUnavailable:
            self._logger.warning("could not record a delivery; the sweep will repeat it")

    async def external(self, share: ExternalShare, *, mail: bool) -> None:
        """The receipt (who it is for, never the link), and the link mailed when asked."""
        record = share.record
        await self.delivered(record)
        if not mail or self._mailer is None:
            return
        sender_name, workspace_name = await self._names.sender_and_workspace(
            record.team_id, record.sender_id)
        try:
            await self._mailer.send(share, sender_name=sender_name,
                                    workspace_name=workspace_name)
        except ShareSecretError as exc:
            self._logger.warning("could not email the link of a secret: %s",
                                 type(exc).__name__)
            notices = await self._notices.for_team(record.team_id)
            if notices is not None:
                await notices.delivery.to_sender(record, link_not_mailed_notice(record))

    async def revoked(self, record: SecretRecord, *, actor: str, by_admin: bool) -> None:
        """Strike out its Reveal messages; tell its sender when another revoked it."""
        notices = await self._notices.for_team(record.team_id)
        if notices is not None:
            await notices.revoked(record, actor=actor, by_admin=by_admin)
