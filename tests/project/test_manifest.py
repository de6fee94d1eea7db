"""manifest.yml: a valid app manifest that matches what the code needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.handlers.command import COMMAND

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())
# Web API methods the bot calls, and the scope each needs (Slack's method docs).
SCOPES_FOR_CALLS = {"chat.postMessage": "chat:write", "chat.postEphemeral": "chat:write",
                    "conversations.open": "im:write", "users.info": "users:read",
                    "chat.update": "chat:write", "views.open": None, "views.update": None,
                    "views.publish": None, "auth.test": None}


def test_command_matches_the_handler_and_escapes_mentions():
    """The manifest's slash command is the one the bot listens for, with ids escaped."""
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is True
    assert command["url"].endswith("/slack/events")
    assert len(command["description"]) <= 100


def test_interactivity_points_at_the_events_endpoint():
    """Button clicks and modal submissions reach POST /slack/events."""
    interactivity = MANIFEST["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"].endswith("/slack/events")


def test_scopes_are_exactly_what_the_bot_uses():
    """No scope is missing for a method the bot calls, and none is requested in vain."""
    needed = {"commands"} | {s for s in SCOPES_FOR_CALLS.values() if s}
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_limits_of_the_manifest_schema():
    """Names and descriptions fit the lengths Slack's manifest schema allows."""
    info = MANIFEST["display_information"]
    assert len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert len(info["long_description"]) <= 4000
    assert len(MANIFEST["features"]["bot_user"]["display_name"]) <= 80


def test_home_tab_events_and_shortcut_match_the_handlers():
    """The Home tab is on, app_home_opened is delivered, and the global shortcut's
    callback id is the one the bot listens for."""
    from bot import render

    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    events = MANIFEST["settings"]["event_subscriptions"]
    assert events["bot_events"] == ["app_home_opened"]
    assert events["request_url"].endswith("/slack/events")
    [shortcut] = MANIFEST["features"]["shortcuts"]
    assert shortcut["type"] == "global"
    assert shortcut["callback_id"] == render.SHORTCUT_CALLBACK
    assert len(shortcut["name"]) <= 80


def test_procfile_runs_the_production_server():
    """The Procfile's web process is `python -m bot`, the HTTP server the end-to-end tests
    start (uvicorn, HOST/PORT from the environment)."""
    procfile = (Path(__file__).parents[2] / "Procfile").read_text().splitlines()
    web = [line for line in procfile if line.startswith("web:")]
    assert web == ["web: python -m bot"]


def test_oauth_asks_for_the_manifest_scopes_by_default():
    """An OAuth install asks for exactly the manifest's bot scopes unless told otherwise."""
    from bot.config import MANIFEST_SCOPES

    assert list(MANIFEST_SCOPES) == MANIFEST["oauth_config"]["scopes"]["bot"]


def test_distributed_manifest_is_the_same_app_plus_oauth():
    """manifest.distributed.yml: manifest.yml plus the redirect URL the bot serves and
    the uninstall events it handles."""
    distributed = yaml.safe_load(
        (Path(__file__).parents[2] / "manifest.distributed.yml").read_text())
    assert distributed["features"] == MANIFEST["features"]
    assert distributed["oauth_config"]["scopes"] == MANIFEST["oauth_config"]["scopes"]
    [redirect] = distributed["oauth_config"]["redirect_urls"]
    assert redirect.endswith("/slack/oauth_redirect")
    events = distributed["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == {*MANIFEST["settings"]["event_subscriptions"]["bot_events"],
                           "app_uninstalled", "tokens_revoked"}
