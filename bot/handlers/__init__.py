"""Slack listeners, one module per surface, each exposing `register(app, deps)`.

Handlers are thin: parse the payload into typed values, call the service, render,
respond. They never import redis or cryptography.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import (
    admin,
    command,
    home,
    manage,
    once,
    policy_panel,
    redeliver,
    reveal,
    share_audience,
    share_modal,
)
from bot.handlers.deps import Deps

__all__ = ["Deps", "register_all"]


def register_all(app: AsyncApp, deps: Deps) -> None:
    """Attach every listener to the app."""
    once.register(app, deps)
    command.register(app, deps)
    share_modal.register(app, deps)
    share_audience.register(app, deps)
    reveal.register(app, deps)
    manage.register(app, deps)
    redeliver.register(app, deps)
    home.register(app, deps)
    admin.register(app, deps)
    policy_panel.register(app, deps)
