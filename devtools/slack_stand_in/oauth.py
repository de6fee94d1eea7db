"""Several workspaces and Slack's OAuth install flow (oauth.v2.access).

Each workspace has its own users, channels and bot token; a token answers only for
its own workspace (another team's channel is `channel_not_found`, an unknown token
`invalid_auth`, a revoked one `token_revoked`). The authorize page itself is a
browser page on slack.com: `approve` models a person pressing Allow there and
returns the one-time code Slack appends to the redirect URL.

oauth.v2.access (https://docs.slack.dev/reference/methods/oauth.v2.access): client
credentials by HTTP Basic auth (preferred) or as `client_id`/`client_secret`
arguments; `code` used once and valid for 10 minutes; `redirect_uri` must match the
one the authorize URL named. The answer: ok, access_token (xoxb), token_type "bot",
scope (comma-separated), bot_user_id, app_id, team {id, name}, enterprise (null
outside Enterprise Grid), authed_user {id} (a user token only with user scopes),
is_enterprise_install. An org-wide install (Enterprise Grid) answers `team` null,
`enterprise` {id, name} and is_enterprise_install true (the method page's org-wide
example); the token is the workspace's here, and auth.test does not tell it apart.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any

from .wire import ApiError, Parsed

CODE_SECONDS = 600.0


@dataclass
class Grant:
    """An approval on the authorize page, until its code is exchanged."""

    team_id: str
    user_id: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    issued_at: float
    used: bool = False
    enterprise_id: str | None = None  # an org-wide install of this organisation


@dataclass
class OAuthApp:
    """The app's credentials and the codes Slack has issued for it."""

    client_id: str
    client_secret: str
    grants: dict[str, Grant]


def client_credentials(parsed: Parsed, authorization: str | None) -> tuple[str, str]:
    """client_id and client_secret from HTTP Basic auth, else from the arguments."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError("invalid_client_id") from None
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return str(parsed.params.get("client_id") or ""), str(parsed.params.get("client_secret") or "")


def new_code(team_id: str) -> str:
    return f"{team_id}.{secrets.token_hex(8)}.{secrets.token_hex(16)}"


def new_bot_token() -> str:
    return f"xoxb-{secrets.randbelow(10**11)}-{secrets.randbelow(10**11)}-" + \
        secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")


def exchange(app: OAuthApp | None, parsed: Parsed, authorization: str | None,
             now: float) -> Grant:
    """Check the credentials and the code; mark the code used; return its grant."""
    if app is None:
        raise ApiError("invalid_client_id")
    client_id, client_secret = client_credentials(parsed, authorization)
    if client_id != app.client_id:
        raise ApiError("invalid_client_id")
    if not secrets.compare_digest(client_secret.encode(), app.client_secret.encode()):
        raise ApiError("bad_client_secret")
    grant = app.grants.get(str(parsed.params.get("code") or ""))
    if grant is None or grant.used or now - grant.issued_at > CODE_SECONDS:
        raise ApiError("invalid_code")
    if grant.redirect_uri and parsed.params.get("redirect_uri") != grant.redirect_uri:
        raise ApiError("bad_redirect_uri")
    grant.used = True
    return grant


def access_answer(grant: Grant, *, token: str, bot_user_id: str, app_id: str,
                  team_name: str) -> dict[str, Any]:
    org = grant.enterprise_id
    return {
        "access_token": token,
        "token_type": "bot",
        "scope": ",".join(grant.scopes),
        "bot_user_id": bot_user_id,
        "app_id": app_id,
        "team": None if org else {"id": grant.team_id, "name": team_name},
        "enterprise": {"id": org, "name": org} if org else None,
        "authed_user": {"id": grant.user_id},
        "is_enterprise_install": bool(org),
    }
