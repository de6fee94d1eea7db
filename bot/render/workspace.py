"""Texts about a workspace's own settings when several workspaces share one deployment."""

from __future__ import annotations

import html

from bot.render.blocks import Message, notice

SETTINGS_USAGE = ("Workspace settings: `/share-secret admin channel #channel` (where audit "
                  "events go; invite me there first), `/share-secret admin add @person`, "
                  "`/share-secret admin remove @person`.")
ONE_WORKSPACE = (":information_source: This deployment serves one workspace: its audit "
                 "channel and admins are set by its operator (AUDIT_CHANNEL_ID, "
                 "ADMIN_USER_IDS).")


def welcome_message(installer: str) -> Message:
    """The DM to whoever installed the app: they are its first admin here."""
    return notice(
        f":wave: Thanks for installing share-secret, <@{installer}>. You are its first admin "
        "in this workspace (workspace admins and owners are admins too).\n"
        "Audit events (who shared, viewed or was refused which secret, never the content) "
        "are kept from now on. To have them posted to a channel, invite me there "
        "(`/invite @share-secret`) and type `/share-secret admin channel #that-channel`.\n"
        + SETTINGS_USAGE)


def reinstall_message(installer: str, *, admin: bool) -> Message:
    """The DM to whoever installed the app after its first install: whether that made
    them an admin here."""
    if admin:
        return notice(f":wave: Thanks for installing share-secret again, <@{installer}>. "
                      "You are one of its admins in this workspace.\n" + SETTINGS_USAGE)
    return notice(
        f":wave: Thanks for installing share-secret, <@{installer}>. Installing it does "
        "not make you one of its admins here: only a workspace's first install does, or "
        "being a workspace admin or owner. An admin can add you "
        "(`/share-secret admin add @you`).")


ORG_WIDE_REFUSED = (
    "share-secret can't be installed for a whole Enterprise Grid organisation: its admins, "
    "audit channel and tokens are kept per workspace. Nothing was installed. Install it "
    "in each workspace instead (choose a workspace, not the organisation, on Slack's "
    "install page), and remove the organisation-wide app in Slack's admin settings.")


def org_wide_refused_page(install_path: str) -> str:
    """The browser page of a refused org-wide install (no user input in it)."""
    return ("<html><head><title>share-secret</title></head><body style=\"padding: 10px 15px; "
            "font-family: verdana; text-align: center;\"><h2>Not installed</h2>"
            f"<p>{html.escape(ORG_WIDE_REFUSED)}</p>"
            f"<p><a href=\"{html.escape(install_path)}\">Install in a workspace</a></p>"
            "</body></html>")


def checking_channel_notice(channel: str) -> str:
    return f":hourglass_flowing_sand: Checking that I can post in <#{channel}>…"


def channel_set_notice(channel: str) -> str:
    return f":white_check_mark: Audit events of this workspace now go to <#{channel}>."


def channel_refused_notice(channel: str, reason: str) -> str:
    return (f":warning: I can't post in <#{channel}> ({reason}). Invite me there first "
            "(`/invite @share-secret`), then try again. Nothing was changed.")


def audit_channel_hello(admin: str, previous: str | None = None) -> Message:
    moved = f" (until now they went to <#{previous}>)" if previous else ""
    return notice(f":gear: <@{admin}> chose this channel for share-secret's audit events "
                  f"of this workspace{moved}.")


def audit_channel_moved(admin: str, channel: str) -> Message:
    """Said in the channel audit events leave, so its readers know where they went."""
    return notice(f":gear: <@{admin}> moved share-secret's audit events of this workspace "
                  f"to <#{channel}>. From now on they are posted there, not here.")


def admin_added_notice(user: str) -> str:
    return f":white_check_mark: <@{user}> is now a share-secret admin in this workspace."


def admin_removed_notice(user: str, removed: bool) -> str:
    if not removed:
        return (f"<@{user}> was not on this workspace's admin list (workspace admins and "
                "owners are admins anyway).")
    return f":white_check_mark: <@{user}> is no longer on this workspace's admin list."
