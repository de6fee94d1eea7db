"""Mail: handing the bot's messages to an SMTP server (SMTP_URL), for people outside Slack.

What the mails say is decided in bot.render.mail; this package only parses the settings and
delivers. Every failure is `bot.errors.MailUnavailable`, whose message never holds the
password, an address or the mail.
"""

from bot.mail.address import parse_address
from bot.mail.sender import Handshake, MailSender
from bot.mail.smtp_url import SmtpEndpoint, parse_smtp_url

__all__ = ["Handshake", "MailSender", "SmtpEndpoint", "parse_address", "parse_smtp_url"]
