"""The two mails of external sharing, sent: the link to each email recipient when the
sender asks for it, and a one-time code to a recipient who asked for one on the page."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.domain import email_of
from bot.errors import MailUnavailable
from bot.mail.sender import MailSender
from bot.render.mail import Envelope, code_mail, link_mail
from bot.secrets.external import ExternalShare, PageInfo, link_url

if TYPE_CHECKING:
    from bot.config import Settings


class ExternalMail:
    def __init__(self, sender: MailSender, *, mail_from: str, public_url: str,
                 logger: logging.Logger) -> None:
        self._sender = sender
        self._from = mail_from
        self._public_url = public_url
        self._logger = logger

    @classmethod
    def for_settings(cls, settings: Settings) -> ExternalMail | None:
        """The link and code mails, with PUBLIC_URL and SMTP_URL both set."""
        endpoint = settings.smtp
        if endpoint is None or settings.public_url is None or settings.mail_from is None:
            return None
        return cls(MailSender(endpoint), mail_from=settings.mail_from,
                   public_url=settings.public_url, logger=logging.getLogger("bot.mail"))

    async def send_code(self, *, to: str, code: str, page: PageInfo) -> None:
        await self._sender.send(code_mail(Envelope(self._from, to), code=code,
                                          sender=page.sender_name,
                                          workspace=page.workspace_name, label=page.label))

    async def send(self, share: ExternalShare, *, sender_name: str,
                   workspace_name: str) -> None:
        """Mail the link to every address of an email secret; MailUnavailable, once all
        were tried, when any could not be sent."""
        record = share.record
        link = link_url(self._public_url, record.secret_id, share.link_key)
        failed = 0
        for address in filter(None, map(email_of, record.recipients)):
            try:
                await self._sender.send(link_mail(
                    Envelope(self._from, address), link=link, sender=sender_name,
                    workspace=workspace_name, label=record.label,
                    expires_at=record.expires_at, passphrase=record.has_passphrase))
            except MailUnavailable as exc:
                failed += 1
                self._logger.warning("a link mail was not sent: %s", exc)
        if failed:
            raise MailUnavailable(f"{failed} of the link mails could not be sent")
