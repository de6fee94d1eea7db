"""Command line: `python -m bot` serves; `python -m bot keygen` makes a key."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.crypto import generate_key_entry
from bot.errors import ConfigError

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=(
        "share-secret: one-time encrypted secrets for Slack."))
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the bot (the default): HTTP, or Socket Mode "
                                      "when SLACK_APP_TOKEN is set")
    keygen = commands.add_parser("keygen", help="print a fresh ENCRYPTION_KEYS entry")
    keygen.add_argument("--id", dest="key_id", help="the key id (default: random)")
    args = parser.parse_args(argv)

    if args.command == "keygen":
        try:
            print(generate_key_entry(args.key_id))
        except ValueError as exc:
            print(f"share-secret: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        return 0
    return serve()


def serve() -> int:
    from bot import logs
    from bot.config import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"share-secret: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logs.configure(settings.log_level)
    logger = logging.getLogger("bot")
    try:
        if settings.socket_mode:
            from bot import socket_mode
            asyncio.run(socket_mode.run(settings, logger=logger))
        else:
            _serve_http(settings, logger)
    except ConfigError as exc:
        print(f"share-secret: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def _serve_http(settings, logger: logging.Logger) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from bot.web import BotASGI

    logger.info("serving HTTP on %s:%s (POST /slack/events)", settings.host, settings.port)
    uvicorn.run(BotASGI(settings, logger=logger), host=settings.host, port=settings.port,
                lifespan="on", access_log=False, log_level=settings.log_level.lower(),
                timeout_graceful_shutdown=10, server_header=False)


if __name__ == "__main__":
    sys.exit(main())
