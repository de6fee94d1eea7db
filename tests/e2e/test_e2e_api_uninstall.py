# ruff: noqa: F811 - pytest fixtures imported from another test module, used by name
"""Removing the app revokes the workspace's API tokens (OAuth).

Removing the app deletes a workspace's installation and settings, so that its next install
is a first install (its installer the only admin). A token made by a former admin must not
outlive that: it would act "as an admin would" on the new installation. Reuses the OAuth
bot and helpers of tests/e2e/test_e2e_workspaces.py.
"""

from __future__ import annotations

import json
import time

import pytest

from bot.domain import code_of
from bot.storage import KeySpace
from devtools.harness.api_client import ApiClient
from tests.conftest import with_api_tokens
from tests.e2e.test_e2e_workspaces import (  # noqa: F401 - fixtures used by name
    PREFIX,
    fresh,
    install,
    oauth_bot,
    teams,
    uninstalled_event,
    user,
)

pytestmark = pytest.mark.e2e


def _token(redis_url: str, team_id: str, created_by: str) -> str:
    _, bearer = with_api_tokens(redis_url, lambda tokens: tokens.create(
        team_id=team_id, name="old-admins-script", created_by=created_by), prefix=PREFIX)
    return str(bearer)


def test_removing_the_app_revokes_its_api_tokens(fresh, oauth_bot, redis_url,
                                                             redis_sync):
    zeta, sim = fresh("T0ZETA")
    ann, mel = user(zeta, "ANN"), user(zeta, "MEL")
    install(oauth_bot, zeta, ann)  # ann: the first admin, who makes a token for a script
    bearer = _token(redis_url, zeta.team_id, ann)
    api = ApiClient(oauth_bot.port)

    zeta.uninstall()
    assert sim.post(uninstalled_event(zeta), content_type="application/json").status == 200
    settings_key = f"{PREFIX}:team-settings:{zeta.team_id}"
    deadline = time.monotonic() + 5
    while redis_sync.exists(settings_key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not redis_sync.exists(settings_key)  # the workspace is forgotten...
    after_removal = api.status(bearer, "ABCD-EFGH-JKMN").status

    install(oauth_bot, zeta, mel)  # ...and mel's install is a first install
    command = sim.slash_command(mel, f"CGEN{zeta.team_id}")
    form = sim.opened_view(command.trigger_id)
    assert sim.submit(mel, form, recipients=[ann], secret="mels-new-secret").status == 200
    deadline = time.monotonic() + 5
    ids: list[str] = []
    while not ids and time.monotonic() < deadline:
        ids = [redis_sync.hget(k, "id").decode()
               for k in redis_sync.scan_iter(KeySpace(PREFIX).every_meta())]
        time.sleep(0.05)
    code = code_of(ids[0])
    seen = api.status(bearer, code)
    revoked = api.revoke(bearer, code)
    assert (after_removal, seen.status, revoked.status) == (401, 401, 401), (
        f"the token made before the app was removed: {after_removal} while removed; on "
        f"the new install it read {json.dumps(seen.body)[:200]} and revoked mel's secret: "
        f"{revoked.status} {revoked.body.get('status')}")
    events = [fields for _, fields in redis_sync.xrange(f"{PREFIX}:{{audit}}:events")]
    revoked_lines = [f for f in events if b"api_token_revoked" in b"".join(f.values())]
    assert len(revoked_lines) == 1
    assert b"the app was removed" in b"".join(revoked_lines[0].values())
