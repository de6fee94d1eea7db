"""Link previewers, unfurlers and mail scanners, told apart from people by user agent.

They fetch a link the moment it is posted or mailed. A GET changes nothing whoever sends
it, so they cannot use a secret up; this only keeps what they show (an unfurl in Slack, a
card in a chat, a scanner's report) neutral: no sender, no label. A person whose browser
is mistaken for one still gets a working page.
"""

from __future__ import annotations

# Lower case; matched anywhere in the user agent.
PREVIEW_MARKERS = (
    "slackbot",  # Slackbot-LinkExpanding, and Slack's other fetchers
    "twitterbot",
    "facebookexternalhit",
    "facebookcatalog",
    "linkedinbot",
    "discordbot",
    "whatsapp",
    "telegrambot",
    "skypeuripreview",
    "microsoft office",  # Office and Outlook checking a link before it is opened
    "ms-office",
    "bingpreview",
    "bingbot",
    "googlebot",
    "google-safety",
    "google-inspectiontool",
    "applebot",
    "mattermost-bot",
    "embedly",
    "iframely",
    "redditbot",
    "pinterestbot",
    "vkshare",
    "viber",
)


def is_preview(user_agent: str | None) -> bool:
    """Whether a request's user agent is a previewer's or a scanner's."""
    if not user_agent:
        return False
    agent = user_agent.lower()
    return any(marker in agent for marker in PREVIEW_MARKERS)
