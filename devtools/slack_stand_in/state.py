"""Everything the stand-in remembers, behind one lock, and how it mints ids."""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .faults import Faults
from .oauth import OAuthApp
from .records import CallLog
from .tiers import RateWindows
from .workspace import Workspace

_ID_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Message:
    """A message as it stands now, for transcripts and assertions.

    `ephemeral_to` names the only user who sees it; `deleted` and `edited` record what
    chat.delete / chat.update / response_url did to it; `via` is the call that
    created it ("chat.postMessage", "chat.postEphemeral", "response_url", "user").
    """

    channel: str
    ts: str
    author: str
    text: str
    blocks: list[dict[str, Any]] | None
    via: str
    ephemeral_to: str | None = None
    thread_ts: str | None = None
    deleted: bool = False
    edited: bool = False
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    metadata: dict[str, Any] | None = None  # chat.postMessage's `metadata`, as posted


@dataclass
class Settings:
    """Identity and limits of the pretend workspace."""

    bot_token: str
    app_token: str
    team_id: str
    team_domain: str
    team_name: str
    bot_id: str
    app_id: str
    scopes: tuple[str, ...]
    trigger_ttl: float
    response_url_ttl: float
    response_url_max_uses: int


@dataclass
class State:
    """Shared state. Every read and write happens while holding `lock`."""

    settings: Settings
    workspace: Workspace
    clock: Callable[[], float]
    lock: threading.Condition = field(default_factory=threading.Condition)
    faults: Faults = field(default_factory=Faults)
    lost_answers: dict[str, int] = field(default_factory=dict)  # method -> answers to lose
    stalls: dict[str, list[float]] = field(default_factory=dict)  # method -> delays to apply
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> published Home
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    stacks: dict[str, list[str]] = field(default_factory=dict)  # root view id -> view ids
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Mints a one-time Socket Mode websocket URL; set by the stand-in.
    socket_url: Callable[[], str] | None = None
    # Several workspaces: every team's state by team id (this one included). They share
    # everything above but settings and workspace, so calls, messages, views, triggers
    # and response urls are one record; tokens pick the team (see serving).
    teams: dict[str, State] = field(default_factory=dict)
    revoked_tokens: set[str] = field(default_factory=set)
    # Answers held back until released (hold_answers): method -> how many more to hold,
    # and the gates the held answers wait at.
    held_answers: dict[str, int] = field(default_factory=dict)
    answer_gates: list[threading.Event] = field(default_factory=list)
    oauth_apps: list[OAuthApp] = field(default_factory=list)  # at most one: the app
    # Calls per minute of the methods whose rate tier is enforced (tiers.py), per team.
    rate_windows: RateWindows = field(default_factory=RateWindows)
    _last_ts_micros: int = 0

    def __post_init__(self) -> None:
        self.calls = CallLog(self.lock)
        self.teams.setdefault(self.settings.team_id, self)

    def for_token(self, token: str | None) -> State:
        """The state of the workspace whose bot token this is (else this one, whose own
        token check then refuses it)."""
        for team in self.teams.values():
            if token and team.settings.bot_token == token:
                return team
        return self

    def new_ts(self) -> str:
        """A message timestamp like Slack's ("1732312345.000100"): unique, increasing."""
        micros = max(self._last_ts_micros + 1, int(time.time() * 1_000_000))
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str, length: int = 10) -> str:
        """A random Slack-style id: a type letter and uppercase letters and digits."""
        return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))

    def forget_conversation_state(self) -> None:
        """Drop messages, views, triggers, response urls and faults; keep the workspace."""
        self.faults.clear()
        self.rate_windows.clear()
        self.lost_answers.clear()
        self.stalls.clear()
        self.homes.clear()
        self.messages.clear()
        self.triggers.clear()
        self.views.clear()
        self.stacks.clear()
        self.response_urls.clear()
