"""Where a secret's sender hears about it (bot.slack.delivery.Delivery.to_sender), against
the Slack stand-in over real HTTP and a real Redis: a Slack sender as ever; a sender who is
not a Slack user (an API token) at the channel or person its secret names, or nowhere.
Nothing treats an API token as a Slack user (no users.info, no DM, no Home tab)."""

from __future__ import annotations

import json
import logging

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.log import DurableAuditLog
from bot.domain import Audience, ShareForm, api_principal
from bot.secrets.external import ExternalPolicy
from bot.secrets.notices import Notices
from bot.secrets.sharing import SharingService
from bot.secrets.web_parts import web_receipts
from bot.slack.names import SlackNames
from bot.slack.people import PersonCache, SlackPeople
from bot.storage import connect
from bot.storage.audit_stream import AuditStream
from bot.workspaces.routes import OneWorkspace, TeamNotices
from devtools.slack_stand_in import SlackStandIn
from tests.unit.test_sharing import SECRET

TOKEN = "xoxb-test-token"
TEAM = "T0ACME"
ALICE, BOB, OPS = "U0ALICE", "U0BOB", "U0OPS"
GENERAL, RECEIPTS, ELSEWHERE = "C0GENERAL", "C0RECEIPTS", "C0ELSEWHERE"
DEPLOY = api_principal("tok1", "deploy")


@pytest.fixture(scope="module")
def slack():
    with SlackStandIn(TOKEN, team_id=TEAM, team_domain="acme") as fake:
        yield fake


@pytest.fixture
def workspace(slack):
    slack.reset()
    for user_id, name in [(ALICE, "alice"), (BOB, "bob"), (OPS, "ops")]:
        slack.add_user(user_id, name)
    slack.add_channel(GENERAL, "general", members=[ALICE, BOB])
    slack.add_channel(RECEIPTS, "deploy-receipts", members=[OPS])
    slack.add_channel(ELSEWHERE, "elsewhere", members=[OPS], bot_is_member=False)
    return slack


@pytest.fixture
async def parts(workspace, store, keyring, redis_url):
    """The service, the notices and the people, as the bot assembles them."""
    redis = connect(redis_url)
    client = AsyncWebClient(token=TOKEN, base_url=workspace.base_url)
    audit = DurableAuditLog(AuditStream(redis, prefix="ss", retention_seconds=3600),
                            logger=logging.getLogger("test"))
    notices = Notices(client, audit=audit, logger=logging.getLogger("test"))
    people = SlackPeople(client, team_id=TEAM, cache=PersonCache())
    yield SharingService(store=store, keyring=keyring), notices, people, client, audit
    await redis.aclose()


def form(**changes) -> ShareForm:
    values = {"team_id": TEAM, "sender_id": DEPLOY, "recipients": (BOB,), "text": SECRET,
              "expiry_seconds": "3600", "label": "prod db"}
    values.update(changes)
    return ShareForm(**values)


def posts(slack, *, skip: set[str] = frozenset()) -> list[tuple[str, str, str]]:
    """(method, channel, text) of every message the bot sent, outside `skip` channels: the
    channel it landed in (a post to a person's id lands in the bot's DM with them)."""
    found = [(c.method, slack.landed_in(c), c.params.get("text", "")) for c in slack.calls
             if c.method in ("chat.postMessage", "chat.postEphemeral") and c.ok]
    return [post for post in found if post[1] not in skip]


def bob_dm(slack) -> set[str]:
    return {slack.dm_of(BOB)}


async def test_a_receipts_channel_gets_an_api_senders_receipt(parts, workspace):
    service, notices, people, _, _ = parts
    record = await service.share(form(receipts_to=RECEIPTS), people=people)
    await notices.announce(record)
    [(method, channel, text)] = posts(workspace, skip=bob_dm(workspace))
    assert (method, channel) == ("chat.postMessage", RECEIPTS)
    assert text.startswith("For API token *deploy*: :white_check_mark: Your secret *prod db*")
    post = workspace.calls_to("chat.postMessage")[-1].params
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    # Revoke (and Retry) work for the sender alone: not offered to a channel.
    assert [b["type"] for b in blocks] == ["context", "section"]
    # Bob got his Reveal message, which names the token; nobody asked Slack who it is.
    prompt = next(m for m in workspace.messages() if m.channel in bob_dm(workspace))
    assert "API token *deploy* shared" in prompt.text
    assert [c.params["user"] for c in workspace.calls_to("users.info")] == [BOB]
    assert all(c.params.get("users") != DEPLOY for c in workspace.calls_to("conversations.open"))


async def test_a_receipts_person_gets_them_by_dm(parts, workspace):
    """Into the bot's DM with them, posted to their id: no conversations.open first (a
    notice is never edited, so its DM's id is not needed), and the DM the answer names is
    remembered, so the next notice goes there."""
    service, notices, people, _, _ = parts
    record = await service.share(form(receipts_to=OPS), people=people)
    await notices.announce(record)
    await notices.remind(record)
    first, second = posts(workspace, skip=bob_dm(workspace))
    assert first[1] == second[1] == workspace.dm_of(OPS)
    assert "For API token *deploy*" in first[2]
    asked = [c.params["channel"] for c in workspace.calls_to("chat.postMessage")
             if c.params["channel"] not in bob_dm(workspace)]
    assert asked == [OPS, workspace.dm_of(OPS)]
    landed = [m for m in workspace.messages() if m.channel == workspace.dm_of(OPS)]
    assert [m.text for m in landed] == [first[2], second[2]]
    assert [c.params["users"] for c in workspace.calls_to("conversations.open")] == [BOB]


async def test_without_a_receipts_destination_nothing_is_sent_to_the_sender(parts,
                                                                           workspace):
    """Only Bob's Reveal message: the sender's receipt, expiry and reminder go nowhere."""
    service, notices, people, _, _ = parts
    record = await service.share(form(), people=people)
    await notices.announce(record)
    await notices.remind(record)
    await notices.expired(record)
    await notices.revoked(record, actor=ALICE, by_admin=True)
    assert posts(workspace, skip=bob_dm(workspace)) == []
    assert [c.params["users"] for c in workspace.calls_to("conversations.open")] == [BOB]


async def test_expiry_reminder_and_an_admins_revoke_reach_the_receipts_channel(parts,
                                                                              workspace):
    service, notices, people, _, _ = parts
    record = await service.share(form(receipts_to=RECEIPTS), people=people)
    await notices.remind(record)
    await notices.expired(record)
    await notices.revoked(record, actor=ALICE, by_admin=True)
    texts = [t for _, channel, t in posts(workspace) if channel == RECEIPTS]
    assert len(texts) == 3
    assert "hasn't been viewed yet" in texts[0]
    assert "expired unread" in texts[1]
    assert f"revoked by <@{ALICE}>" in texts[2]
    assert all(t.startswith("For API token *deploy*: ") for t in texts)


async def test_a_slack_sender_is_told_as_before(parts, workspace):
    """A Slack sender: the receipt privately where they shared, with Revoke; receipts_to
    plays no part for a Slack sender."""
    service, notices, people, _, _ = parts
    record = await service.share(form(sender_id=ALICE, origin_channel=GENERAL,
                                      receipts_to=RECEIPTS), people=people)
    await notices.announce(record)
    [receipt] = [c for c in workspace.calls_to("chat.postEphemeral")
                 if c.params["user"] == ALICE]
    assert receipt.params["channel"] == GENERAL
    assert "Revoke" in json.dumps(receipt.params["blocks"])
    await notices.expired(record)
    assert [channel for _, channel, _ in posts(workspace) if channel == RECEIPTS] == []
    assert any("expired" in t for _, channel, t in posts(workspace)
               if channel == workspace.dm_of(ALICE))


async def test_a_receipts_channel_the_bot_cannot_post_in_fails_quietly(parts, workspace,
                                                                      caplog):
    service, notices, people, _, _ = parts
    record = await service.share(form(receipts_to=ELSEWHERE), people=people)
    with caplog.at_level(logging.WARNING, logger="test"):
        report = await notices.announce(record)
    assert report.failed == ()  # Bob got his Reveal message all the same
    assert "not_in_channel" in caplog.text
    assert [c.response["error"] for c in workspace.calls_to("chat.postMessage")
            if c.params["channel"] == ELSEWHERE] == ["not_in_channel"]


async def test_a_web_page_opening_is_reported_where_the_receipts_go(parts, workspace):
    """The web page's receipt (a link secret opened) goes through the same routing."""
    from bot.secrets.external import WebClient

    service, _, _, client, audit = parts
    share = await service.share_external(
        form(recipients=(), audience=Audience.LINK, receipts_to=RECEIPTS),
        policy=ExternalPolicy())
    receipt = web_receipts(TeamNotices(OneWorkspace(client, audit_channel=None), audit=audit,
                                       logger=logging.getLogger("test"), clock=lambda: 0.0))
    await receipt(share.record, "link", WebClient("203.0.113.7", "test"), True)
    [(_, channel, text)] = posts(workspace)
    assert channel == RECEIPTS
    assert "Someone with the link opened *prod db*" in text
    assert "it is gone now" in text


async def test_the_web_page_names_an_api_sender_without_asking_slack(parts, workspace):
    _, _, _, client, _ = parts
    names = SlackNames(OneWorkspace(client, audit_channel=None))
    assert await names.sender_and_workspace(TEAM, DEPLOY) == ("deploy (API)", "Acme")
    assert workspace.calls_to("users.info") == []
    assert (await names.sender_and_workspace(TEAM, ALICE))[0] == "alice"


async def test_an_api_sender_has_no_home_tab_to_publish(parts, workspace):
    """After an API share the Home refresh for its sender does nothing (it would ask
    Slack to publish a view for a user that does not exist); `deps` is never touched."""
    from bot.handlers.home_tab import publish_home

    _, _, _, client, _ = parts
    await publish_home(client, object(), team=TEAM, user=DEPLOY)  # type: ignore[arg-type]
    assert workspace.calls == []
