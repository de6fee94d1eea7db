"""The workspace the stand-in pretends to be: users, channels and DMs."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

# Slackbot's own user. Slack lists it with is_bot false (widely observed in users.list
# data; no method page states it), so apps must recognise it by its id.
SLACKBOT_ID = "USLACKBOT"


@dataclass
class User:
    """A workspace member as users.info describes it."""

    id: str
    name: str
    team_id: str
    real_name: str = ""
    display_name: str = ""
    is_bot: bool = False
    is_app_user: bool = False
    deleted: bool = False
    is_admin: bool = False
    is_owner: bool = False
    # Slack Connect: someone of another workspace this app's token cannot see in a shared
    # channel (https://docs.slack.dev/reference/objects/user-object: "is_stranger: if
    # true, this user belongs to a different workspace than the one associated with your
    # app's token, and isn't in any shared channels visible to your app"; absent otherwise).
    is_stranger: bool = False
    tz: str = "America/Los_Angeles"
    tz_offset: int = -28800
    bot_id: str | None = None
    app_id: str | None = None
    # The address they sign in with; Slack's bots have none.
    email: str | None = None

    def as_json(self, *, with_email: bool = False) -> dict[str, Any]:
        """The `user` object of users.info (https://docs.slack.dev/reference/methods/users.info).
        `with_email`: the token has users:read.email, without which Slack leaves
        `profile.email` out (https://docs.slack.dev/reference/scopes/users.read.email)."""
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "team": self.team_id,
        }
        if with_email and self.email:
            profile["email"] = self.email
        if self.bot_id:
            profile.update(bot_id=self.bot_id, api_app_id=self.app_id or "", always_active=True)
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,  # unverified: Slack sends a label like "Pacific Standard Time"
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": self.is_app_user,
            "updated": int(time.time()),
        }
        if self.is_stranger:
            user["is_stranger"] = True
        return user


@dataclass
class Channel:
    """A conversation: public or private channel, DM (im) or group DM (mpim)."""

    id: str
    name: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None  # the human in a DM with the bot
    created: int = field(default_factory=lambda: int(time.time()))

    def im_json(self) -> dict[str, Any]:
        """conversations.open's full IM definition (the documented return_im example)."""
        body: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "is_im": self.is_im,
            "is_mpim": self.is_mpim,
            "is_org_shared": False,
            "last_read": "0000000000.000000",
            "latest": None,
            "unread_count": 0,
            "unread_count_display": 0,
            "is_open": True,
            "priority": 0,
        }
        if self.is_im:
            body["user"] = self.im_user
        return body


def channel_info(channel: Channel, *, bot_id: str) -> dict[str, Any]:
    """conversations.info's `channel` object, as its documented examples show it
    (https://docs.slack.dev/reference/methods/conversations.info); a DM gets the IM shape."""
    if channel.is_im:
        return channel.im_json()
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private and not channel.is_mpim,
        "is_group": channel.is_private and not channel.is_mpim,
        "is_im": False,
        "is_mpim": channel.is_mpim,
        "is_private": channel.is_private,
        "created": channel.created,
        "creator": "",  # unverified: who created it; no test relies on it
        "is_archived": channel.is_archived,
        "is_general": channel.name == "general",
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_read_only": False,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "pending_shared": [],
        "is_pending_ext_shared": False,
        "is_member": bot_id in channel.members,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
        "previous_names": [],
    }


class Workspace:
    """Users and conversations of one team. The stand-in guards it with its lock."""

    def __init__(self, *, team_id: str, bot_user: User) -> None:
        self.team_id = team_id
        self.bot_user = bot_user
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.users[bot_user.id] = bot_user
        self.users[SLACKBOT_ID] = User(
            id=SLACKBOT_ID,
            name="slackbot",
            team_id=team_id,
            real_name="Slackbot",
            display_name="Slackbot",
        )

    def add_user(self, user: User) -> None:
        """Add or replace a user."""
        self.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        """Add or replace a channel."""
        self.channels[channel.id] = channel

    def channel(self, ref: str) -> Channel | None:
        """A conversation by id, or a public/private channel by name ("general" or "#general")."""
        found = self.channels.get(ref)
        if found is not None:
            return found
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if not (channel.is_im or channel.is_mpim) and channel.name == name:
                return channel
        return None

    def by_email(self, address: str) -> User | None:
        """The member whose address this is (compared without regard to case), deactivated
        or not."""
        wanted = address.strip().lower()
        return next((u for u in self.users.values()
                     if u.email is not None and u.email.lower() == wanted), None)

    def live_user(self, user_id: str) -> User | None:
        """The user, unless unknown or deactivated."""
        user = self.users.get(user_id)
        return None if user is None or user.deleted else user

    def open_conversation(self, user_ids: list[str]) -> tuple[Channel, bool]:
        """The bot's DM (one user) or group DM (several); returns (conversation, was_open).

        Ids are derived from the member set, so they are stable like Slack's.
        """
        others = [u for u in dict.fromkeys(user_ids) if u != self.bot_user.id]
        key = ",".join(sorted(others))
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:10].upper()
        single = len(others) == 1
        channel_id = ("D" if single else "G") + digest
        existing = self.channels.get(channel_id)
        if existing is not None:
            return existing, True
        channel = Channel(
            id=channel_id,
            name=others[0] if single else "mpdm-" + "--".join(others),
            members={self.bot_user.id, *others},
            is_private=True,
            is_im=single,
            is_mpim=not single,
            im_user=others[0] if single else None,
        )
        self.channels[channel_id] = channel
        return channel, False
