"""SlackStandIn: the one fake of Slack we keep, as a real HTTP server."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from . import oauth, response_urls, serving
from . import views as modals
from .async_server import AsyncHttpServer
from .faults import Fault
from .records import RecordedCall
from .server import HttpRequest, HttpServer, Steps, Transport
from .socket_mode import SocketModeServer
from .state import Message, Settings, State
from .workspace import Channel, User, Workspace

DEFAULT_SCOPES = ("commands", "chat:write", "im:write", "users:read")
# How requests reach the stand-in: a thread per connection (the tests' default), or one
# event loop (the benchmark's: no thread and no blocked sleep per call in flight).
TRANSPORTS: dict[str, type[Transport]] = {"threads": HttpServer, "asyncio": AsyncHttpServer}


class SlackStandIn:
    """A Slack Web API and response_url server on 127.0.0.1 for tests and demos.

    Point `slack_sdk.WebClient(token=bot_token, base_url=slack.base_url)` at it.
    Every call is recorded; faults and latency are set per test. `clock` measures
    trigger and response_url lifetimes and can be replaced by a test. Socket Mode
    (apps.connections.open with `app_token`, and the websocket) is `socket`.
    `transport` is "threads" or "asyncio" (TRANSPORTS); both serve the same answers.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        *,
        app_token: str | None = None,
        team_id: str = "T0001",
        team_domain: str = "acme",
        team_name: str | None = None,
        bot_user_id: str = "UBOT0001",
        bot_name: str = "share-secret",
        bot_id: str = "B0001",
        app_id: str = "A0001",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 30 * 60.0,
        response_url_max_uses: int = 5,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
        transport: str = "threads",
    ) -> None:
        settings = Settings(
            bot_token=bot_token,
            app_token=app_token or f"xapp-1-{app_id}-1-stand-in",
            team_id=team_id,
            team_domain=team_domain,
            team_name=team_name or team_domain.capitalize(),
            bot_id=bot_id,
            app_id=app_id,
            scopes=tuple(scopes),
            trigger_ttl=trigger_ttl,
            response_url_ttl=response_url_ttl,
            response_url_max_uses=response_url_max_uses,
        )
        bot = User(
            id=bot_user_id,
            name=bot_name,
            team_id=team_id,
            real_name=bot_name,
            display_name=bot_name,
            is_bot=True,
            bot_id=bot_id,
            app_id=app_id,
        )
        self._state = State(settings, Workspace(team_id=team_id, bot_user=bot), clock)
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {sorted(TRANSPORTS)}")
        self._server = TRANSPORTS[transport](self._serve, host=host, port=port)
        self.socket = SocketModeServer(app_id=app_id, host=host)
        """Slack's Socket Mode side: envelopes, acknowledgements, dropped connections."""
        self._state.socket_url = self.socket.issue_url
        self.latency = 0.0
        """Seconds every Web API and response_url answer is delayed (per request thread)."""
        self._arrivals: list[str] = []  # request paths as they arrive, before the latency

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Start serving; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections (websockets included)."""
        self._server.stop()
        self.socket.stop()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return self._server.root_url

    @property
    def base_url(self) -> str:
        """The Web API base for `WebClient(base_url=...)`, with its trailing slash."""
        return self.root_url + "/api/"

    @property
    def bot_token(self) -> str:
        """The only token the bot's methods accept (apps.connections.open takes app_token)."""
        return self._state.settings.bot_token

    @property
    def app_token(self) -> str:
        """The app-level token (`xapp-...`) apps.connections.open accepts."""
        return self._state.settings.app_token

    @property
    def bot_user_id(self) -> str:
        """The bot's own user id (present in users.info with is_bot true)."""
        return self._state.workspace.bot_user.id

    @property
    def bot_id(self) -> str:
        """The bot id (`B...`) auth.test reports."""
        return self._state.settings.bot_id

    @property
    def team_id(self) -> str:
        """The workspace id."""
        return self._state.settings.team_id

    # -- several workspaces and the OAuth install flow -------------------------------

    def add_workspace(self, team_id: str, team_domain: str, *, bot_user_id: str,
                      bot_id: str, installed: bool = False) -> SlackStandIn:
        """Another workspace the same app can be installed in; returns a view of the
        stand-in whose workspace methods (add_user, add_channel, team_id, bot_token...)
        act on that team, while calls, messages and views stay one record. Its bot token
        exists once the app is installed there (`approve_install` + oauth.v2.access), or
        at once with `installed=True`."""
        primary = self._state
        with primary.lock:
            settings = dataclasses.replace(
                primary.settings, team_id=team_id, team_domain=team_domain,
                team_name=team_domain.capitalize(), bot_id=bot_id,
                bot_token=oauth.new_bot_token() if installed else "")
            bot = User(id=bot_user_id, name=primary.workspace.bot_user.name, team_id=team_id,
                       real_name=primary.workspace.bot_user.name, is_bot=True, bot_id=bot_id,
                       app_id=settings.app_id)
            team = dataclasses.replace(primary, settings=settings,
                                       workspace=Workspace(team_id=team_id, bot_user=bot))
            team.calls = primary.calls  # one record of every call, whatever the team
            primary.teams[team_id] = team
        return self.workspace(team_id)

    def workspace(self, team_id: str) -> SlackStandIn:
        """The view of one workspace (see add_workspace); the first one is the stand-in."""
        view = copy.copy(self)
        view._state = self._state.teams[team_id]
        return view

    def configure_oauth(self, *, client_id: str, client_secret: str) -> None:
        """The app's credentials, which oauth.v2.access checks."""
        with self._state.lock:
            self._state.oauth_apps[:] = [oauth.OAuthApp(client_id, client_secret, {})]

    def approve_install(self, user_id: str, *, scopes: Iterable[str] = DEFAULT_SCOPES,
                        redirect_uri: str | None = None,
                        org_wide: str | None = None) -> str:
        """A member of this workspace presses Allow on Slack's authorize page: returns
        the code Slack appends to the redirect URL (one use, 10 minutes). `org_wide`: an
        Enterprise Grid organisation's id, for an install across the whole organisation."""
        with self._state.lock:
            code = oauth.new_code(self.team_id)
            self._state.oauth_apps[0].grants[code] = oauth.Grant(
                team_id=self.team_id, user_id=user_id, scopes=tuple(scopes),
                redirect_uri=redirect_uri, issued_at=self._state.clock(),
                enterprise_id=org_wide)
            return code

    def uninstall(self) -> None:
        """The app is removed from this workspace: its bot token stops working
        (`token_revoked`). Slack then sends app_uninstalled, which tests deliver."""
        with self._state.lock:
            if self._state.settings.bot_token:
                self._state.revoked_tokens.add(self._state.settings.bot_token)
            self._state.settings.bot_token = ""

    # -- the workspace ------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        is_bot: bool = False,
        deleted: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str = "America/Los_Angeles",
        tz_offset: int = -28800,
        team_id: str | None = None,
        is_stranger: bool = False,
        email: str | None = None,
    ) -> None:
        """Add (or replace) a workspace member; with `team_id`, someone of another
        workspace whom this one's users.info can see (Slack Connect), `is_stranger` when
        they share no channel visible to the app. Every person has an address (Slack
        requires one): `email`, else `name@<team domain>.example.com`; bots have none
        unless `email` gives one."""
        if email is None and not is_bot:
            email = f"{name}@{self._state.settings.team_domain}.example.com"
        user = User(
            id=user_id,
            name=name,
            team_id=team_id or self.team_id,
            is_stranger=is_stranger,
            real_name=real_name or name,
            display_name=display_name if display_name is not None else name,
            is_bot=is_bot,
            deleted=deleted,
            is_admin=is_admin,
            is_owner=is_owner,
            tz=tz,
            tz_offset=tz_offset,
            email=email,
        )
        with self._state.lock:
            self._state.workspace.add_user(user)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: Iterable[str] = (),
        bot_is_member: bool = True,
        is_private: bool | None = None,
        is_archived: bool = False,
    ) -> None:
        """Add (or replace) a channel. Private defaults to ids starting with G."""
        member_ids = set(members)
        if bot_is_member:
            member_ids.add(self.bot_user_id)
        channel = Channel(
            id=channel_id,
            name=name,
            members=member_ids,
            is_archived=is_archived,
            is_private=channel_id.startswith("G") if is_private is None else is_private,
        )
        with self._state.lock:
            self._state.workspace.add_channel(channel)

    def set_scopes(self, scopes: Iterable[str]) -> None:
        """The scopes the bot token has from now on (as after a reinstall that added or
        removed some), e.g. `(*DEFAULT_SCOPES, "users:read.email")`."""
        with self._state.lock:
            self._state.settings.scopes = tuple(scopes)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the bot token has now."""
        with self._state.lock:
            return self._state.settings.scopes

    def limit_rate(self, method: str, *, per_minute: int | None) -> None:
        """Enforce at most `per_minute` calls to `method` per minute from this workspace
        (429 with Retry-After beyond; each workspace counted on its own), or, with None,
        no limit; users.lookupByEmail starts at its tier's 50 (tiers.py)."""
        with self._state.lock:
            limits = self._state.rate_windows.per_minute
            if per_minute is None:
                limits.pop(method, None)
            else:
                limits[method] = per_minute

    def set_member(self, channel_id: str, user_id: str, is_member: bool = True) -> None:
        """Make a user (or the bot) join or leave a channel."""
        with self._state.lock:
            members = self._state.workspace.channels[channel_id].members
            if is_member:
                members.add(user_id)
            else:
                members.discard(user_id)

    def post_as_user(self, channel_id: str, user_id: str, text: str) -> str:
        """Seed a message a human wrote (the bot cannot update or delete it); return ts."""
        with self._state.lock:
            ts = self._state.new_ts()
            self._state.messages[(channel_id, ts)] = Message(
                channel=channel_id, ts=ts, author=user_id, text=text, blocks=None, via="user"
            )
            return ts

    def new_trigger_id(self, *, view_id: str | None = None) -> str:
        """A trigger id valid for `trigger_ttl` seconds and one use.

        Pass `view_id` for a trigger from an interaction inside that modal, so that
        views.push lands on its stack.
        """
        with self._state.lock:
            return modals.new_trigger(self._state, view_id=view_id)

    def new_response_url(
        self, *, channel_id: str, user_id: str, message_ts: str | None = None
    ) -> str:
        """A response_url for an interaction by `user_id` in `channel_id`.

        `message_ts` names the message the interaction came from (posted or
        ephemeral), which replace_original / delete_original act on.
        """
        with self._state.lock:
            token = response_urls.issue(
                self._state, channel_id=channel_id, user_id=user_id, message_ts=message_ts
            )
        return f"{self.root_url}/response/{token}"

    def close_view(self, view_id: str) -> None:
        """Simulate the user closing the modal that holds `view_id`."""
        with self._state.lock:
            modals.close_stack(self._state, view_id)

    # -- what happened ------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """A snapshot of every recorded call, oldest first."""
        return self._state.calls.snapshot()

    def dm_of(self, user_id: str) -> str | None:
        """The id of the bot's DM with this person, once opened (it stays across
        `reset`, as Slack's does: a bot that remembers it need not open it again)."""
        with self._state.lock:
            return next((c.id for c in self._state.workspace.channels.values()
                         if c.is_im and c.im_user == user_id), None)

    def landed_in(self, call: RecordedCall) -> str | None:
        """The conversation a chat.postMessage call posted into: a person's id as its
        channel posts into the bot's DM with them (chat.postMessage's docs)."""
        channel = call.params.get("channel")
        if not isinstance(channel, str):
            return None
        if call.method == "chat.postMessage" and channel[:1] in ("U", "W"):
            return self.dm_of(channel)
        return channel

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls to one method ("chat.postMessage", "response_url")."""
        return self._state.calls.matching(method)

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Block until `count` matching calls are recorded; return those first `count`.

        Raises AssertionError with a summary of every recorded call on timeout.
        """
        return self._state.calls.wait_for(method, count=count, timeout=timeout, where=where)

    def arrived(self, method: str) -> int:
        """How many requests to `method` ("users.info", "response_url") have arrived,
        answered or not: with `latency`, a call is recorded only as its answer leaves,
        and a test may need to know it is under way."""
        path = "/response/" if method == "response_url" else f"/api/{method}"
        return sum(1 for p in list(self._arrivals) if p.startswith(path) and (
            method == "response_url" or p == path))

    def sent_texts(self) -> list[str]:
        """Every string the bot sent in any call's params (for leak checks)."""
        return self._state.calls.sent_texts()

    def messages(self, channel: str | None = None) -> list[Message]:
        """Messages as they stand now (deleted ones flagged), oldest first; copies."""
        with self._state.lock:
            found = [m for m in self._state.messages.values() if channel in (None, m.channel)]
            return copy.deepcopy(found)

    def home_of(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for a user (as views.publish answered it)."""
        with self._state.lock:
            home = self._state.homes.get(user_id)
            return dict(home) if home else None

    def open_views(self) -> list[dict[str, Any]]:
        """The modal views currently open, as views.* last answered them; copies."""
        with self._state.lock:
            return copy.deepcopy(list(self._state.views.values()))

    # -- faults -------------------------------------------------------------------

    def fail(
        self, method: str, *, error: str, times: int | None = 1, status: int | None = None
    ) -> None:
        """The next `times` calls to `method` answer `{"ok": false, "error": error}`.

        Web API methods answer HTTP 200 (Slack's way) unless `status` says otherwise;
        "response_url" answers 404 with `error` as the text body. `times=None`
        keeps failing until `clear_faults()`.
        """
        with self._state.lock:
            self._state.faults.arm(method, Fault(error, status, None, times))

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int | None = 1) -> None:
        """The next `times` calls to `method` answer HTTP 429 with `Retry-After`."""
        with self._state.lock:
            self._state.faults.arm(method, Fault("ratelimited", 429, int(retry_after), times))

    def lose_answers(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls to `method` take effect (and are recorded) but their
        answer is lost: the connection closes before it is sent, as when a network drops
        the reply. The caller sees a disconnect and cannot know the call succeeded."""
        with self._state.lock:
            self._state.lost_answers[method] = self._state.lost_answers.get(method, 0) + times

    def hold_answers(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls to `method` take effect (and are recorded) at once, but
        their answers wait until `release_answers()`: a test can kill the caller in
        between, after Slack accepted the call and before the caller heard so."""
        with self._state.lock:
            self._state.held_answers[method] = self._state.held_answers.get(method, 0) + times

    def release_answers(self) -> None:
        """Send every held answer (to callers still listening) and hold no more."""
        with self._state.lock:
            gates, self._state.answer_gates[:] = list(self._state.answer_gates), []
            self._state.held_answers.clear()
        for gate in gates:
            gate.set()

    def stall(self, method: str, *, seconds: float, times: int = 1) -> None:
        """The next `times` calls to `method` are carried out and answered `seconds` late
        (a caller with a shorter timeout gives up on a call that still happens)."""
        with self._state.lock:
            self._state.stalls.setdefault(method, []).extend([float(seconds)] * times)

    def clear_faults(self) -> None:
        """Disarm every fault (and forget answers still to be lost)."""
        with self._state.lock:
            self._state.faults.clear()
            self._state.lost_answers.clear()
            self._state.held_answers.clear()
            self._state.stalls.clear()

    def reset(self) -> None:
        """Forget calls, faults, latency, messages, views, triggers, response urls and
        Socket Mode acknowledgements.

        Users, channels, opened DMs and open websocket connections stay.
        """
        self.release_answers()
        with self._state.lock:
            self._state.forget_conversation_state()
            self._state.calls.clear()
            self._arrivals.clear()
        self.socket.reset()
        self.latency = 0.0

    # -- serving ------------------------------------------------------------------

    def _serve(self, request: HttpRequest) -> Steps:
        self._arrivals.append(request.path)  # list.append is atomic: no lock needed
        return serving.serve(self._state, request, root_url=self.root_url, latency=self.latency)
