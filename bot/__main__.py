"""Command line: `python -m bot` serves; `python -m bot keygen` makes a key; the operator's
tools (audit, admin, doctor, keys, api-tokens) follow."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from bot.crypto import generate_key_entry
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=(
        "share-secret: one-time encrypted secrets for Slack."))
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the bot (the default): HTTP, or Socket Mode "
                                      "when SLACK_APP_TOKEN is set")
    keygen = commands.add_parser("keygen", help="print a fresh ENCRYPTION_KEYS entry")
    keygen.add_argument("--id", dest="key_id", help="the key id (default: random)")
    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True)
    export = audit.add_parser("export", help="write audit events as JSON Lines to stdout")
    export.add_argument("--since", help="ISO date or time (UTC unless it says otherwise)")
    export.add_argument("--until", help="ISO date or time")
    export.add_argument("--event", help="only this event, e.g. secret_opened")
    export.add_argument("--actor", help="only events by this user id, e.g. U0123ABCD")
    audit.add_parser("reindex", help="index events stored before the lookup indexes (once, "
                                     "after upgrading), so `admin audit` finds them")
    admin = commands.add_parser("admin", help="administration").add_subparsers(
        dest="admin_command", required=True)
    admin.add_parser("stats", help="counts of secrets by status, the oldest active one")
    doctor = commands.add_parser("doctor", help="check configuration, Redis, the Slack token, "
                                                "its scopes and the audit channel")
    doctor.add_argument("--post-test", action="store_true",
                        help="also post a test line to the audit channel (a sure check "
                             "when the token cannot read channel information)")
    keys = commands.add_parser("keys", help="encryption keys").add_subparsers(
        dest="keys_command", required=True)
    keys.add_parser("rotate", help="re-encrypt every active secret under the first key of "
                                   "ENCRYPTION_KEYS (safe while the bot serves; re-runnable)")
    keys.add_parser("check", help="which key ids active secrets use (exit 1 if one is "
                                  "missing from ENCRYPTION_KEYS)")
    seal = keys.add_parser("seal", help="once, when upgrading: seal the metadata of secrets "
                                        "stored before metadata seals, as it stands now")
    seal.add_argument("--force", action="store_true",
                      help="run again although it ran before (see the README first)")
    _api_tokens_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "keygen":
        try:
            print(generate_key_entry(args.key_id))
        except ValueError as exc:
            print(f"share-secret: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        return 0
    if args.command in {"audit", "admin", "keys", "api-tokens"}:
        return _tool(args)
    if args.command == "doctor":
        from bot.cli import doctor as doctor_checks
        return doctor_checks.main(post_test=args.post_test)
    return serve()


def _api_tokens_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tokens = commands.add_parser("api-tokens", help="tokens for the HTTP API").add_subparsers(
        dest="tokens_command", required=True)
    team_help = "the workspace id (needed only when the bot serves several workspaces)"
    create = tokens.add_parser("create", help="create a token; it is printed once, alone "
                                              "on the last line")
    create.add_argument("--name", required=True, help="1-40 characters: a-z, 0-9, . _ -")
    create.add_argument("--team", help=team_help)
    create.add_argument("--receipts-to", help="a channel (C...) or person (U...) id that "
                                              "gets the receipts of what the token shares")
    listing = tokens.add_parser("list", help="the workspace's live tokens (ids and names)")
    listing.add_argument("--team", help=team_help)
    revoke = tokens.add_parser("revoke", help="revoke a token at once, by name or id")
    revoke.add_argument("name_or_id", metavar="NAME_OR_ID")
    revoke.add_argument("--team", help=team_help)


def _tool(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisClusterException, RedisError

    from bot.cli import keys as cli_keys
    from bot.cli import tools as cli_tools
    from bot.config import load_settings
    from bot.errors import StorageUnavailable, ValidationFailed

    try:
        settings = load_settings()
        if args.command == "api-tokens":
            return asyncio.run(_api_tokens(args, settings))
        if args.command == "audit" and args.audit_command == "reindex":
            asyncio.run(cli_tools.reindex_audit(settings))
        elif args.command == "audit":
            asyncio.run(cli_tools.export_audit(settings, since=args.since, until=args.until,
                                               event=args.event, actor=args.actor))
        elif args.command == "keys" and args.keys_command == "check":
            return asyncio.run(cli_keys.check_keys(settings))
        elif args.command == "keys" and args.keys_command == "seal":
            return asyncio.run(cli_keys.seal_keys(settings, force=args.force))
        elif args.command == "keys":
            report = asyncio.run(cli_keys.rotate_keys(settings))
            return 0 if report.complete else 3
        else:
            asyncio.run(cli_tools.admin_stats(settings))
    except ConfigError as exc:
        print(f"share-secret: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ValidationFailed as exc:
        print("share-secret: " + " ".join(exc.errors.values()), file=sys.stderr)
        return EXIT_CONFIG
    except (StorageUnavailable, RedisError, RedisClusterException, OSError):
        print("share-secret: Redis is unreachable (check REDIS_URL)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Nothing is half-done: every secret is replaced atomically or not at all.
        print("share-secret: interrupted; run it again to continue", file=sys.stderr)
        return 130
    return 0


async def _api_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import api_tokens

    if args.tokens_command == "create":
        return await api_tokens.create_token(settings, name=args.name, team=args.team,
                                             receipts_to=args.receipts_to)
    if args.tokens_command == "list":
        return await api_tokens.list_tokens(settings, team=args.team)
    return await api_tokens.revoke_token(settings, name_or_id=args.name_or_id, team=args.team)


def serve() -> int:
    from bot.config import load_settings
    from bot.telemetry import logs, metrics_dir

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"share-secret: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logs.configure(settings.log_level, fmt=settings.log_format,
                   secrets=logs.secret_values(settings))
    logger = logging.getLogger("bot")
    if not settings.socket_mode:
        settings = metrics_dir.prepare(settings)
    try:
        if settings.socket_mode:
            from bot.web import socket_mode
            asyncio.run(socket_mode.run(settings, logger=logger))
        else:
            from bot.web.serving import serve_http
            return serve_http(settings, logger)
    except ConfigError as exc:
        print(f"share-secret: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        metrics_dir.cleanup(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
