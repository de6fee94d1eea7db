"""App Home, the global shortcut and administration, end to end (real HTTP, stand-in,
real Redis; the app in this process so that its admins can be configured)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.crypto import StaticKeyRing, parse_keys
from bot.domain import ShareForm
from bot.secrets.sharing import SharingService
from bot.slack.admins import Admins
from bot.storage import KeySpace, RedisSecretStore, connect
from devtools.harness.clock import FakeClock
from devtools.harness.inprocess import InProcessBot
from tests.conftest import (
    ALICE,
    BOB,
    BOT_TOKEN,
    GENERAL,
    TEST_KEYS,
    audit_lines,
    inprocess_settings,
    populate,
    settle,
    sim_for,
)

pytestmark = pytest.mark.e2e
ADMIN, BOSS = "U0ADMIN", "U0BOSS"


def add_admins(slack) -> None:
    slack.add_user(ADMIN, "admin")
    slack.add_user(BOSS, "boss", is_admin=True)


@pytest.fixture(scope="module")
def live(slack, redis_url):
    settings = inprocess_settings(slack, redis_url, admin_user_ids=(ADMIN,))
    with InProcessBot(settings, clock=FakeClock()) as bot:
        yield bot


@pytest.fixture
def sim(live, slack, redis_sync):
    sim = sim_for(live, slack)
    add_admins(slack)
    yield sim
    settle(slack)


def many_secrets(redis_url, count, *, sender=ALICE):
    """Store `count` secrets straight through the service (fast set-up)."""
    class Everyone:
        async def not_people(self, user_ids):
            return {}

    async def go():
        client = connect(redis_url)
        service = SharingService(store=RedisSecretStore(client, keys=KeySpace("ss"),
                                                        keyring=StaticKeyRing(
                                                            parse_keys(TEST_KEYS)),
                                                        metadata_retention_seconds=3600),
                                 keyring=StaticKeyRing(parse_keys(TEST_KEYS)))
        for n in range(count):
            await service.share(ShareForm(team_id="T0ACME", sender_id=sender,
                                          recipients=(BOB,), text=f"secret {n}",
                                          label=f"label {n}"), people=Everyone())
        await client.aclose()
    asyncio.run(go())


def published(slack, user, count=1):
    calls = slack.wait_for("views.publish", count=count,
                           where=lambda c: c.params.get("user_id") == user)
    assert all(c.ok for c in calls), [c.describe() for c in calls]
    return calls[-1].params["view"]


def elements(view, action_id):
    found = []
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                found.append((block.get("block_id"), element))
    return found


def test_home_lists_own_secrets_and_refreshes_after_sharing(sim, slack):
    """Once the sender has opened their Home tab, sharing refreshes it: the secret with a
    Revoke button."""
    sim.open_home(ALICE)
    published(slack, ALICE)
    command = sim.slash_command(ALICE, GENERAL)
    sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=[BOB], secret="pw-1",
               label="Wiki admin")
    view = published(slack, ALICE, count=2)
    assert "Wiki admin" in json.dumps(view["blocks"])
    assert elements(view, "revoke_secret")
    assert elements(view, "open_share_form")
    assert "pw-1" not in json.dumps(view)


def test_a_home_tab_never_opened_is_not_published_after_a_share(sim, slack, redis_sync):
    """Nobody is looking at a Home tab never opened (Slack tells the bot when someone
    opens it, and it is published afresh then): a share sends no views.publish for it,
    and opening it afterwards shows the secret. The mark is in Redis, for every replica."""
    command = sim.slash_command(ALICE, GENERAL)
    sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=[BOB], secret="pw-2",
               label="Never looked")
    assert sim.reveal_prompt(BOB)
    settle(slack)
    assert [c for c in slack.calls_to("views.publish") if c.params["user_id"] == ALICE] == []
    assert redis_sync.exists(KeySpace("ss").home_seen("T0ACME", ALICE)) == 0
    sim.open_home(ALICE)
    assert "Never looked" in json.dumps(published(slack, ALICE)["blocks"])
    assert redis_sync.ttl(KeySpace("ss").home_seen("T0ACME", ALICE)) > 80 * 86_400


def test_a_revoke_from_the_home_tab_refreshes_it_without_the_mark(sim, slack, redis_sync,
                                                                  redis_url):
    """Someone revoking in their Home tab is looking at it, whether or not the bot noted
    that they opened it (a tab published before the mark existed, or a Redis flushed
    since): the tab is published again without the secret, and they are noted."""
    many_secrets(redis_url, 1)
    sim.open_home(ALICE)
    block_id, revoke = elements(published(slack, ALICE), "revoke_secret")[0]
    redis_sync.delete(KeySpace("ss").home_seen("T0ACME", ALICE))
    sim.click_home(ALICE, revoke, block_id=block_id)
    assert elements(published(slack, ALICE, count=2), "revoke_secret") == []
    assert redis_sync.exists(KeySpace("ss").home_seen("T0ACME", ALICE)) == 1


def test_share_button_and_global_shortcut_open_the_form(sim, slack):
    """The Home tab's button and the "Share a secret" shortcut open the share form."""
    sim.open_home(ALICE)
    view = published(slack, ALICE)
    block_id, button = elements(view, "open_share_form")[0]
    first = sim.click_home(ALICE, button, block_id=block_id)
    assert sim.opened_view(first.trigger_id)["callback_id"] == "share_secret"
    second = sim.shortcut(ALICE, "share_secret_shortcut")
    assert sim.opened_view(second.trigger_id)["callback_id"] == "share_secret"


def test_home_and_admin_panel_fit_with_500_secrets(sim, slack, redis_url):
    """With 500 secrets, the sender's Home and the admin's panel stay within Slack's
    limits (views.publish accepts them) and the admin can page through."""
    many_secrets(redis_url, 500)
    sim.open_home(ALICE)
    mine = published(slack, ALICE)
    assert len(mine["blocks"]) <= 100
    assert "more not shown" in json.dumps(mine["blocks"])
    sim.open_home(ADMIN)
    first = published(slack, ADMIN)
    assert len(first["blocks"]) <= 100
    assert len(elements(first, "admin_revoke")) == 20
    block_id, next_button = elements(first, "admin_page")[0]
    sim.click_home(ADMIN, next_button, block_id=block_id)
    second = published(slack, ADMIN, count=2)
    assert "Page 2" in json.dumps(second["blocks"])
    assert {e["value"] for _, e in elements(first, "admin_revoke")}.isdisjoint(
        {e["value"] for _, e in elements(second, "admin_revoke")})
    assert "Admin looked at" in "\n".join(audit_lines(slack, 1))


def test_admin_filters_by_sender_and_status(sim, slack, redis_url):
    """Choosing a sender and a status narrows the admin panel."""
    many_secrets(redis_url, 3, sender=ALICE)
    many_secrets(redis_url, 2, sender=BOB)
    sim.open_home(ADMIN)
    view = published(slack, ADMIN)
    (block_id, status), (_, sender) = elements(view, "admin_filter_status")[0], \
        elements(view, "admin_filter_sender")[0]
    sim.click_home(ADMIN, sender, block_id=block_id, value={"selected_user": BOB})
    by_bob = published(slack, ADMIN, count=2)
    assert len(elements(by_bob, "admin_revoke")) == 2
    option = next(o for o in status["options"] if o["value"] == "ended")
    sim.click_home(ADMIN, status, block_id=block_id, value={"selected_option": option})
    ended = published(slack, ADMIN, count=3)
    assert elements(ended, "admin_revoke") == []
    assert "No secrets match" in json.dumps(ended["blocks"])


def test_admin_revokes_from_the_panel_and_the_sender_is_told(sim, slack, redis_url):
    """An admin's Revoke ends the secret, audits secret_revoked_admin, DMs the sender."""
    many_secrets(redis_url, 1)
    sim.open_home(ADMIN)
    block_id, revoke = elements(published(slack, ADMIN), "admin_revoke")[0]
    sim.click_home(ADMIN, revoke, block_id=block_id)
    after = published(slack, ADMIN, count=2)
    assert elements(after, "admin_revoke") == []
    dm = slack.wait_for("chat.postMessage", where=lambda c: "revoked by" in c.params.get(
        "text", ""))[0]
    assert f"<@{ADMIN}>" in dm.params["text"]
    assert "Secret revoked by an admin" in "\n".join(audit_lines(slack, 2))


def test_non_admins_are_refused_and_audited(sim, slack, redis_url):
    """Admin commands and a forged admin Revoke are refused to others, and audited."""
    for text in ("admin list", "admin revoke ABCD-EFGH-JKMN", "admin audit"):
        assert "Only share-secret admins" in sim.slash_command(BOB, GENERAL, text).json()["text"]
    many_secrets(redis_url, 1)
    sim.open_home(ADMIN)
    block_id, revoke = elements(published(slack, ADMIN), "admin_revoke")[0]
    sim.open_home(BOB)
    published(slack, BOB)
    sim.click_home(BOB, revoke, block_id=block_id)  # Bob replays the admin's button
    lines = audit_lines(slack, 5)
    assert sum("Access denied" in line and f"<@{BOB}>" in line for line in lines) == 4
    sim.open_home(ADMIN)
    assert elements(published(slack, ADMIN), "admin_revoke")  # still active


def test_admin_commands_list_revoke_audit(sim, slack):
    """`admin list`, `admin revoke CODE` and `admin audit CODE` work for an admin."""
    command = sim.slash_command(ALICE, GENERAL)
    sim.submit(ALICE, sim.opened_view(command.trigger_id), recipients=[BOB], secret="pw-2")
    receipt = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ALICE)
    code = json.dumps(receipt[0].params["blocks"]).split("Share code: `")[1][:14]
    listed = sim.slash_command(ADMIN, GENERAL, f"admin list <@{ALICE}> active").json()
    assert code in json.dumps(listed["blocks"])
    revoked = sim.slash_command(ADMIN, GENERAL, f"admin revoke {code}").json()
    assert "Revoked" in revoked["text"]
    audit = sim.slash_command(ADMIN, GENERAL, f"admin audit {code}")
    text = json.dumps(audit.json()["blocks"])
    assert "Secret created" in text
    assert "pw-2" not in text
    assert "usage" not in text.lower()
    assert "Admin commands" in sim.slash_command(ADMIN, GENERAL, "admin frob").json()["text"]


def test_workspace_admins_count_when_enabled(slack):
    """With ADMINS_INCLUDE_WORKSPACE_ADMINS, users.info's admins and owners are admins,
    of this workspace only: not a Slack Connect guest who administers their own, nor a
    stranger."""
    populate(slack)
    add_admins(slack)
    slack.add_user("U0GUEST", "guest", team_id="T0ELSEWHERE", is_admin=True)
    slack.add_user("U0STRANGE", "strange", team_id="T0ELSEWHERE", is_owner=True,
                   is_stranger=True)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    on = Admins((ADMIN,), include_workspace_admins=True, clock=time.monotonic)
    off = Admins((ADMIN,), include_workspace_admins=False)

    async def check():
        return [await on.is_admin(client, team_id="T0ACME", user_id=BOSS),
                await on.is_admin(client, team_id="T0ACME", user_id=BOB),
                await off.is_admin(client, team_id="T0ACME", user_id=BOSS),
                await off.is_admin(client, team_id="T0ACME", user_id=ADMIN),
                await on.is_admin(client, team_id="T0ACME", user_id="U0GUEST"),
                await on.is_admin(client, team_id="T0ACME", user_id="U0STRANGE")]
    assert asyncio.run(check()) == [True, False, False, True, False, False]
    lookups = len(slack.calls_to("users.info"))
    assert asyncio.run(on.is_admin(client, team_id="T0ACME", user_id=BOSS))
    assert len(slack.calls_to("users.info")) == lookups  # cached


def test_an_unanswered_admin_check_is_not_a_refusal(slack):
    """When Slack cannot say whether someone is a workspace admin, the answer is "could
    not verify", not "you are not an admin" (and never a slow answer)."""
    from bot.errors import CannotVerify

    populate(slack)
    add_admins(slack)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    admins = Admins((ADMIN,), include_workspace_admins=True)
    slack.rate_limit("users.info", retry_after=5, times=1)

    async def check():
        started = time.monotonic()
        with pytest.raises(CannotVerify):
            await admins.is_admin(client, team_id="T0ACME", user_id=BOSS)
        return time.monotonic() - started
    assert asyncio.run(check()) < 1.5
    slack.clear_faults()


def test_clear_filters_resets_the_admin_panel(sim, slack, redis_url):
    """The panel's Clear filters button goes back to all secrets, page 1."""
    many_secrets(redis_url, 2, sender=ALICE)
    many_secrets(redis_url, 1, sender=BOB)
    sim.open_home(ADMIN)
    view = published(slack, ADMIN)
    block_id, sender = elements(view, "admin_filter_sender")[0]
    sim.click_home(ADMIN, sender, block_id=block_id, value={"selected_user": BOB})
    assert len(elements(published(slack, ADMIN, count=2), "admin_revoke")) == 1
    _, clear = elements(published(slack, ADMIN, count=2), "admin_clear_filters")[0]
    sim.click_home(ADMIN, clear, block_id=block_id)
    assert len(elements(published(slack, ADMIN, count=3), "admin_revoke")) == 3
