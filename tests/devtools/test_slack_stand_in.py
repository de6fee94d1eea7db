"""The Slack stand-in, driven by the real slack_sdk clients, answers as Slack documents."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from devtools.harness.clock import FakeClock
from devtools.slack_stand_in import SlackStandIn, blockkit

TOKEN = "xoxb-test-token"
# slack_sdk itself warns before sending a message without text; those tests mean it.
SDK_WARNS_NO_TEXT = pytest.mark.filterwarnings("ignore:The top-level `text`:UserWarning")


def _populate(slack: SlackStandIn) -> None:
    slack.add_user("U0ALICE", "alice", real_name="Alice A.", is_admin=True)
    slack.add_user("U0BOB", "bob")
    slack.add_user("U0CAROL", "carol")
    slack.add_user("U0DAVE", "dave", deleted=True)
    slack.add_channel("C0GENERAL", "general", members=["U0ALICE", "U0BOB"])
    slack.add_channel("C0RANDOM", "random", members=["U0ALICE"], bot_is_member=False)
    slack.add_channel("G0SECRET", "secret", members=["U0ALICE"], bot_is_member=False)
    slack.add_channel("C0OLD", "old", members=["U0ALICE"], is_archived=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture(params=["threads", "asyncio"])
def slack(clock: FakeClock, request: pytest.FixtureRequest):
    """The stand-in over each transport: the two must not drift apart."""
    with SlackStandIn(TOKEN, team_id="T0001", team_domain="acme", clock=clock,
                      transport=request.param) as stand_in:
        _populate(stand_in)
        yield stand_in


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.base_url)


def error_of(call) -> str:
    """Run a client call that must fail; return Slack's error code."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


def modal(**fields) -> dict:
    view = {
        "type": "modal",
        "callback_id": "share",
        "title": {"type": "plain_text", "text": "Share a secret"},
        "submit": {"type": "plain_text", "text": "Share"},
        "blocks": [
            {
                "type": "input",
                "block_id": "secret",
                "label": {"type": "plain_text", "text": "Secret"},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 3000},
            }
        ],
    }
    view.update(fields)
    return view


def raw_post(slack: SlackStandIn, path: str, body: bytes, content_type: str, **headers):
    """POST bytes with http.client; return (status, headers, decoded body)."""
    parts = urlsplit(slack.root_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request(
            "POST", path, body=body, headers={"Content-Type": content_type, **headers}
        )
        answer = connection.getresponse()
        payload = answer.read().decode()
        return answer.status, dict(answer.getheaders()), payload
    finally:
        connection.close()


# -- plumbing and authentication ------------------------------------------------------


def test_base_url_is_local_with_trailing_slash(slack):
    """base_url is http://127.0.0.1:PORT/api/ so WebClient can join method names."""
    assert slack.base_url.startswith("http://127.0.0.1:")
    assert slack.base_url.endswith("/api/")


def test_auth_test_reports_the_bot_and_its_scopes(slack, client):
    """auth.test answers the bot's identity and the x-oauth-scopes header Bolt reads."""
    answer = client.auth_test()
    assert answer.data == {
        "ok": True,
        "url": "https://acme.slack.com/",
        "team": "Acme",
        "user": "share-secret",
        "team_id": "T0001",
        "user_id": slack.bot_user_id,
        "bot_id": slack.bot_id,
        "is_enterprise_install": False,
    }
    assert answer.headers["x-oauth-scopes"] == "commands,chat:write,im:write,users:read"
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"


def test_conversations_info_follows_channel_kind_scope_and_membership():
    """conversations.info needs channels:read for a public channel (groups:read for a
    private one); answers is_member and is_archived; a private channel without the bot,
    or an unknown id, is channel_not_found."""
    with SlackStandIn(TOKEN, scopes=("chat:write", "channels:read")) as slack:
        _populate(slack)
        client = WebClient(token=TOKEN, base_url=slack.base_url)
        general = client.conversations_info(channel="C0GENERAL")
        assert general["channel"]["is_member"] is True
        assert general["channel"]["name"] == "general"
        assert general["channel"]["is_channel"] is True
        assert general.headers["x-accepted-oauth-scopes"] == \
            "channels:read,groups:read,im:read,mpim:read"
        assert client.conversations_info(channel="C0RANDOM")["channel"]["is_member"] is False
        assert client.conversations_info(channel="C0OLD")["channel"]["is_archived"] is True
        assert error_of(lambda: client.conversations_info(channel="G0SECRET")) == \
            "channel_not_found"
        assert error_of(lambda: client.conversations_info(channel="C0NOPE")) == \
            "channel_not_found"
    with SlackStandIn(TOKEN, scopes=("chat:write",)) as slack:
        _populate(slack)
        client = WebClient(token=TOKEN, base_url=slack.base_url)
        with pytest.raises(SlackApiError) as refused:
            client.conversations_info(channel="C0GENERAL")
        assert refused.value.response["error"] == "missing_scope"
        assert refused.value.response["needed"] == "channels:read"


def test_missing_token_is_not_authed(slack):
    """A call without any token answers not_authed."""
    assert error_of(WebClient(base_url=slack.base_url).auth_test) == "not_authed"


def test_wrong_token_is_invalid_auth(slack):
    """A call with another token answers invalid_auth."""
    bad = WebClient(token="xoxb-wrong", base_url=slack.base_url)
    assert error_of(bad.auth_test) == "invalid_auth"


def test_token_may_come_as_a_form_argument(slack):
    """A `token` form field authenticates like the Authorization header."""
    status, _, body = raw_post(
        slack, "/api/auth.test", f"token={TOKEN}".encode(), "application/x-www-form-urlencoded"
    )
    assert status == 200
    assert json.loads(body)["ok"] is True


def test_multipart_form_bodies_are_read(slack):
    """A multipart/form-data body is read like a form (token and arguments)."""
    body = (
        '--b\r\nContent-Disposition: form-data; name="token"\r\n\r\n'
        f"{TOKEN}\r\n"
        '--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nU0BOB\r\n--b--\r\n'
    )
    status, _, answer = raw_post(
        slack, "/api/users.info", body.encode(), "multipart/form-data; boundary=b"
    )
    assert status == 200
    assert json.loads(answer)["user"]["name"] == "bob"


def test_unknown_method_answers_unknown_method(slack, client):
    """A method the stand-in does not know answers unknown_method and echoes it."""
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.teleport")
    assert raised.value.response.data == {
        "ok": False,
        "error": "unknown_method",
        "req_method": "chat.teleport",
    }


def test_keep_alive_serves_several_requests_on_one_connection(slack):
    """HTTP/1.1 keep-alive: two requests share one connection thanks to Content-Length."""
    parts = urlsplit(slack.root_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        for _ in range(2):
            connection.request(
                "POST", "/api/auth.test", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            answer = connection.getresponse()
            body = answer.read()
            assert answer.status == 200
            assert int(answer.getheader("Content-Length")) == len(body)
    finally:
        connection.close()


def test_json_body_without_charset_gets_slacks_warning(slack):
    """A JSON body without charset succeeds with the missing_charset warning."""
    status, _, body = raw_post(
        slack,
        "/api/chat.postMessage",
        json.dumps({"channel": "C0GENERAL", "text": "hi"}).encode(),
        "application/json",
        Authorization=f"Bearer {TOKEN}",
    )
    answer = json.loads(body)
    assert status == 200
    assert answer["ok"] is True
    assert answer["warning"] == "missing_charset"
    assert answer["response_metadata"]["warnings"] == ["missing_charset"]


def test_sdk_calls_carry_no_warning(client):
    """slack_sdk declares the charset Slack wants, so its answers carry no warning."""
    answer = client.chat_postMessage(channel="C0GENERAL", text="hi")
    assert "warning" not in answer.data
    assert "response_metadata" not in answer.data


def test_async_client_reads_query_string_arguments(slack):
    """AsyncWebClient sends form-style methods as query strings; they are understood."""

    async def scenario():
        client = AsyncWebClient(token=TOKEN, base_url=slack.base_url)
        user = await client.users_info(user="U0ALICE")
        opened = await client.conversations_open(users="U0BOB", return_im=True)
        return user["user"]["name"], opened["channel"]["user"]

    assert asyncio.run(scenario()) == ("alice", "U0BOB")
    assert slack.calls_to("users.info")[0].params == {"user": "U0ALICE"}


# -- chat.postMessage ---------------------------------------------------------------


def test_post_message_answers_channel_ts_and_message(slack, client):
    """chat.postMessage answers channel, ts and the stored message with its blocks."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    answer = client.chat_postMessage(channel="C0GENERAL", text="hi", blocks=blocks)
    assert answer["channel"] == "C0GENERAL"
    assert answer["message"] == {
        "type": "message",
        "text": "hi",
        "user": slack.bot_user_id,
        "bot_id": slack.bot_id,
        "app_id": "A0001",
        "team": "T0001",
        "ts": answer["ts"],
        "blocks": blocks,
    }
    [message] = slack.messages("C0GENERAL")
    assert (message.ts, message.text, message.blocks) == (answer["ts"], "hi", blocks)


def test_post_message_ts_are_unique_and_increasing(client):
    """Message timestamps look like Slack's and strictly increase."""
    stamps = [client.chat_postMessage(channel="C0GENERAL", text="x")["ts"] for _ in range(20)]
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 20


def test_post_message_to_a_user_id_lands_in_the_bots_dm(client):
    """Posting to a user id posts into the bot's DM with that user (a D id)."""
    posted = client.chat_postMessage(channel="U0BOB", text="psst")
    opened = client.conversations_open(users="U0BOB")
    assert posted["channel"].startswith("D")
    assert posted["channel"] == opened["channel"]["id"]


def test_post_message_by_channel_name(client):
    """A channel may be named instead of identified, as Slack allows."""
    assert client.chat_postMessage(channel="#general", text="hi")["channel"] == "C0GENERAL"


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C0NOWHERE", "text": "x"}, "channel_not_found"),
        ({"channel": "U0NOBODY", "text": "x"}, "channel_not_found"),
        ({"channel": "C0RANDOM", "text": "x"}, "not_in_channel"),
        ({"channel": "G0SECRET", "text": "x"}, "channel_not_found"),
        ({"channel": "C0OLD", "text": "x"}, "is_archived"),
        pytest.param({"channel": "C0GENERAL"}, "no_text", marks=SDK_WARNS_NO_TEXT),
        ({"channel": "C0GENERAL", "text": "x" * 40_001}, "msg_too_long"),
        (
            {"channel": "C0GENERAL", "text": "x", "blocks": [{"type": "divider"}] * 51},
            "invalid_blocks",
        ),
        ({"channel": "C0GENERAL", "text": "x", "blocks": {"type": "divider"}}, "invalid_blocks"),
    ],
)
def test_post_message_errors(client, arguments, error):
    """chat.postMessage refuses what Slack refuses, with Slack's error codes."""
    assert error_of(lambda: client.chat_postMessage(**arguments)) == error


def test_invalid_blocks_say_where(client):
    """invalid_blocks carries response_metadata.messages pointing at the bad field."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=blocks)
    [message] = raised.value.response["response_metadata"]["messages"]
    assert "3001" in message
    assert "/blocks/0/text/text" in message


def test_button_limits_are_enforced(client):
    """Button text over 75 and value over 2000 characters are invalid_blocks."""
    button = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}, "value": "v"}
    long_value = {**button, "text": {"type": "plain_text", "text": "ok"}, "value": "v" * 2001}
    for element in (button, long_value):
        blocks = [{"type": "actions", "elements": [element]}]
        post = lambda b=blocks: client.chat_postMessage(channel="C0GENERAL", text="x", blocks=b)  # noqa: E731
        assert error_of(post) == "invalid_blocks"


def _radio(options, **extra):
    return {"type": "radio_buttons", "action_id": "a", "options": options, **extra}


def _opt(label="ok", value="v", **extra):
    return {"text": {"type": "plain_text", "text": label}, "value": value, **extra}


@pytest.mark.parametrize(("element", "pointer"), [
    (_radio([_opt(value=str(i)) for i in range(11)]), "/options"),
    (_radio([_opt("x" * 76)]), "/options/0/text/text"),
    (_radio([_opt(value="v" * 151)]), "/options/0/value"),
    (_radio([_opt(description={"type": "plain_text", "text": "d" * 76})]),
     "/options/0/description/text"),
    (_radio([_opt()], initial_option=_opt(value="other")), "/initial_option"),
    ({"type": "checkboxes", "action_id": "c", "options": [_opt()],
      "initial_options": [_opt(value="other")]}, "/initial_options"),
    ({"type": "plain_text_input", "action_id": "t",
      "placeholder": {"type": "plain_text", "text": "p" * 151}}, "/placeholder/text"),
])
def test_choice_elements_are_checked_as_slack_documents(element, pointer):
    """Options: at most 10 radio buttons or checkboxes, text 75 and value 150 characters,
    initial choices among the options; placeholders at most 150 characters."""
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"},
            "submit": {"type": "plain_text", "text": "S"},
            "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text",
                                                                    "text": "L"},
                        "element": element}]}
    [problem] = blockkit.modal_errors(view)
    assert f"/view/blocks/0/element{pointer}]" in problem
    element = dict(element, options=[_opt()])
    element.pop("initial_option", None)
    element.pop("initial_options", None)
    element.pop("placeholder", None)
    if element["type"] == "plain_text_input":
        element.pop("options")
    assert blockkit.modal_errors(view | {"blocks": [dict(view["blocks"][0],
                                                         element=element)]}) == []


def test_dispatch_action_is_a_boolean():
    block = {"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"},
             "element": _radio([_opt()]), "dispatch_action": "yes"}
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"},
            "submit": {"type": "plain_text", "text": "S"}, "blocks": [block]}
    assert "/view/blocks/0/dispatch_action" in blockkit.modal_errors(view)[0]
    assert blockkit.modal_errors(view | {"blocks": [dict(block, dispatch_action=True)]}) == []


def test_chat_write_public_allows_public_channels_without_joining():
    """With chat:write.public the bot posts to public channels it has not joined."""
    scopes = ("commands", "chat:write", "chat:write.public")
    with SlackStandIn(TOKEN, scopes=scopes) as slack:
        _populate(slack)
        client = WebClient(token=TOKEN, base_url=slack.base_url)
        assert client.chat_postMessage(channel="C0RANDOM", text="x")["ok"]
        assert error_of(lambda: client.chat_postMessage(channel="G0SECRET", text="x")) == (
            "channel_not_found"
        )


def test_missing_scope_names_the_needed_scope():
    """A method the token lacks the scope for answers missing_scope with needed/provided."""
    with SlackStandIn(TOKEN, scopes=("commands",)) as slack:
        _populate(slack)
        client = WebClient(token=TOKEN, base_url=slack.base_url)
        with pytest.raises(SlackApiError) as raised:
            client.users_info(user="U0ALICE")
        assert raised.value.response.data == {
            "ok": False,
            "error": "missing_scope",
            "needed": "users:read",
            "provided": "commands",
        }


# -- chat.postEphemeral, chat.update, chat.delete --------------------------------------


def test_bolt_learns_the_bot_identity_and_scopes(slack):
    """A Bolt App pointed at the stand-in verifies its token and reads the bot's scopes."""
    from slack_bolt import App
    from slack_bolt.middleware.authorization.internals import _to_authorize_result

    app = App(client=WebClient(token=TOKEN, base_url=slack.base_url), signing_secret="s")
    assert [c.method for c in slack.calls] == ["auth.test"]
    result = _to_authorize_result(app.client.auth_test(), TOKEN, None)
    assert (result.bot_user_id, result.bot_id) == (slack.bot_user_id, slack.bot_id)
    assert result.bot_scopes == ["commands", "chat:write", "im:write", "users:read"]


def test_post_ephemeral_answers_message_ts(slack, client):
    """chat.postEphemeral answers only message_ts and shows the message to one user."""
    answer = client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="only you")
    assert set(answer.data) == {"ok", "message_ts"}
    [message] = slack.messages("C0GENERAL")
    assert (message.ts, message.ephemeral_to) == (answer["message_ts"], "U0ALICE")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C0GENERAL", "user": "U0CAROL", "text": "x"}, "user_not_in_channel"),
        ({"channel": "C0RANDOM", "user": "U0ALICE", "text": "x"}, "not_in_channel"),
        ({"channel": "C0NOWHERE", "user": "U0ALICE", "text": "x"}, "channel_not_found"),
        pytest.param(
            {"channel": "C0GENERAL", "user": "U0ALICE"}, "no_text", marks=SDK_WARNS_NO_TEXT
        ),
        (
            {
                "channel": "C0GENERAL",
                "user": "U0ALICE",
                "text": "x",
                "blocks": [{"type": "divider"}] * 51,
            },
            "invalid_blocks",
        ),
    ],
)
def test_post_ephemeral_errors(client, arguments, error):
    """chat.postEphemeral refuses what Slack refuses, with Slack's error codes."""
    assert error_of(lambda: client.chat_postEphemeral(**arguments)) == error


def test_a_user_who_left_no_longer_gets_ephemerals(slack, client):
    """After set_member(..., False) the user is not in the channel any more."""
    slack.set_member("C0GENERAL", "U0BOB", is_member=False)
    post = lambda: client.chat_postEphemeral(channel="C0GENERAL", user="U0BOB", text="x")  # noqa: E731
    assert error_of(post) == "user_not_in_channel"


def test_update_replaces_a_bot_message(slack, client):
    """chat.update replaces text and blocks and answers channel, ts, text, message."""
    posted = client.chat_postMessage(channel="C0GENERAL", text="before")
    answer = client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="after")
    assert (answer["channel"], answer["ts"], answer["text"]) == ("C0GENERAL", posted["ts"], "after")
    assert answer["message"]["text"] == "after"
    [message] = slack.messages("C0GENERAL")
    assert (message.text, message.edited) == ("after", True)


def test_update_cannot_reach_ephemeral_messages(client):
    """An ephemeral message has no stored ts: chat.update answers message_not_found."""
    ts = client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="x")["message_ts"]
    update = lambda: client.chat_update(channel="C0GENERAL", ts=ts, text="y")  # noqa: E731
    assert error_of(update) == "message_not_found"


def test_update_and_delete_refuse_other_peoples_messages(slack, client):
    """A human's message answers cant_update_message / cant_delete_message."""
    ts = slack.post_as_user("C0GENERAL", "U0ALICE", "mine")
    update = lambda: client.chat_update(channel="C0GENERAL", ts=ts, text="y")  # noqa: E731
    assert error_of(update) == "cant_update_message"
    assert error_of(lambda: client.chat_delete(channel="C0GENERAL", ts=ts)) == (
        "cant_delete_message"
    )


def test_delete_removes_once(slack, client):
    """chat.delete answers channel and ts; a second delete is message_not_found."""
    ts = client.chat_postMessage(channel="C0GENERAL", text="x")["ts"]
    assert client.chat_delete(channel="C0GENERAL", ts=ts).data == {
        "ok": True,
        "channel": "C0GENERAL",
        "ts": ts,
    }
    assert slack.messages("C0GENERAL")[0].deleted
    assert error_of(lambda: client.chat_delete(channel="C0GENERAL", ts=ts)) == ("message_not_found")
    missing = lambda: client.chat_update(channel="C0NOWHERE", ts=ts, text="y")  # noqa: E731
    assert error_of(missing) == "channel_not_found"


# -- conversations.open and users.info -------------------------------------------------


def test_conversations_open_gives_a_stable_dm(client):
    """The same user gets the same D id; return_im adds the full IM definition."""
    first = client.conversations_open(users="U0ALICE")
    again = client.conversations_open(users=["U0ALICE"], return_im=True)
    assert first.data == {"ok": True, "channel": {"id": first["channel"]["id"]}}
    assert again["channel"]["id"] == first["channel"]["id"]
    assert again["channel"]["is_im"] is True
    assert again["channel"]["user"] == "U0ALICE"
    assert again["already_open"] is True


@pytest.mark.parametrize(
    ("users", "error"),
    [
        ("U0NOBODY", "user_not_found"),
        ("U0DAVE", "user_disabled"),
        ("", "users_list_not_supplied"),
        ("U0ALICE,U0BOB", "missing_scope"),  # a group DM needs mpim:write
    ],
)
def test_conversations_open_errors(client, users, error):
    """conversations.open refuses unknown, deactivated or missing users."""
    assert error_of(lambda: client.conversations_open(users=users)) == error


def test_conversations_open_sends_a_form_body(slack, client):
    """slack_sdk sends conversations.open as a form body with comma-separated users."""
    client.conversations_open(users=["U0ALICE"])
    [call] = slack.calls_to("conversations.open")
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.params == {"users": "U0ALICE"}


def test_users_info_shape(slack, client):
    """users.info answers the documented user object."""
    user = client.users_info(user="U0ALICE")["user"]
    assert user["id"] == "U0ALICE"
    assert user["team_id"] == "T0001"
    assert user["name"] == "alice"
    assert user["real_name"] == user["profile"]["real_name"] == "Alice A."
    assert user["profile"]["display_name"] == "alice"
    assert (user["deleted"], user["is_bot"], user["is_admin"], user["is_owner"]) == (
        False,
        False,
        True,
        False,
    )
    assert user["is_app_user"] is False
    assert user["tz"]
    assert "is_stranger" not in user  # present only when true


def test_users_info_of_someone_from_another_workspace(slack, client):
    """A Slack Connect guest carries their own team_id; a stranger also is_stranger."""
    slack.add_user("U0GUEST", "guest", team_id="T0OTHER", is_admin=True)
    slack.add_user("U0STRANGE", "strange", team_id="T0OTHER", is_stranger=True)
    guest = client.users_info(user="U0GUEST")["user"]
    assert (guest["team_id"], guest["is_admin"], "is_stranger" in guest) == (
        "T0OTHER", True, False)
    assert client.users_info(user="U0STRANGE")["user"]["is_stranger"] is True


def test_users_info_knows_the_bot_slackbot_and_the_deactivated(slack, client):
    """The bot is_bot; Slackbot is USLACKBOT with is_bot false; deactivated users show deleted."""
    assert client.users_info(user=slack.bot_user_id)["user"]["is_bot"] is True
    slackbot = client.users_info(user="USLACKBOT")["user"]
    assert (slackbot["name"], slackbot["is_bot"]) == ("slackbot", False)
    assert client.users_info(user="U0DAVE")["user"]["deleted"] is True
    assert error_of(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"


# -- views -------------------------------------------------------------------------------


def test_views_open_answers_the_stored_view(slack, client):
    """views.open answers the view with id, hash, root_view_id and the ids of the app."""
    view = client.views_open(trigger_id=slack.new_trigger_id(), view=modal())["view"]
    assert view["id"].startswith("V")
    assert view["root_view_id"] == view["id"]
    assert view["previous_view_id"] is None
    assert (view["team_id"], view["type"], view["callback_id"]) == ("T0001", "modal", "share")
    assert view["title"] == {"type": "plain_text", "text": "Share a secret"}
    assert view["blocks"] == modal()["blocks"]
    assert view["private_metadata"] == ""
    assert view["hash"]
    assert (view["app_id"], view["bot_id"]) == ("A0001", slack.bot_id)


def test_view_arrives_as_a_json_object(slack, client):
    """slack_sdk sends views.open as JSON with `view` an object, not a string."""
    client.views_open(trigger_id=slack.new_trigger_id(), view=modal())
    [call] = slack.calls_to("views.open")
    assert call.headers["Content-Type"] == "application/json;charset=utf-8"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.params["view"] == modal()


def test_view_as_a_json_string_in_a_form_is_decoded(slack):
    """A form body carrying `view` as a JSON string (Slack's documented form) works."""
    body = f"trigger_id={slack.new_trigger_id()}&view={json.dumps(modal())}"
    status, _, answer = raw_post(
        slack,
        "/api/views.open",
        body.encode(),
        "application/x-www-form-urlencoded",
        Authorization=f"Bearer {TOKEN}",
    )
    assert status == 200
    assert json.loads(answer)["ok"] is True
    assert slack.calls_to("views.open")[0].params["view"] == modal()


def test_trigger_is_single_use(slack, client):
    """A trigger exchanged once answers exchanged_trigger_id the second time."""
    trigger = slack.new_trigger_id()
    client.views_open(trigger_id=trigger, view=modal())
    again = lambda: client.views_open(trigger_id=trigger, view=modal())  # noqa: E731
    assert error_of(again) == "exchanged_trigger_id"


def test_trigger_expires_after_its_ttl(slack, client, clock):
    """A trigger older than 3 seconds answers expired_trigger_id."""
    trigger = slack.new_trigger_id()
    clock.now += 3.01
    late = lambda: client.views_open(trigger_id=trigger, view=modal())  # noqa: E731
    assert error_of(late) == "expired_trigger_id"


def test_unknown_trigger_is_invalid(client):
    """A trigger the stand-in never issued answers invalid_trigger_id."""
    bogus = lambda: client.views_open(trigger_id="1.2.abc", view=modal())  # noqa: E731
    assert error_of(bogus) == "invalid_trigger_id"


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (modal(title={"type": "plain_text", "text": "x" * 25}), "/view/title/text"),
        (modal(submit={"type": "plain_text", "text": "x" * 25}), "/view/submit/text"),
        (modal(close={"type": "mrkdwn", "text": "Close"}), "/view/close/type"),
        (modal(private_metadata="x" * 3001), "/view/private_metadata"),
        (modal(callback_id="x" * 256), "/view/callback_id"),
        (modal(blocks=[{"type": "divider"}] * 101), "/view/blocks"),
        (modal(submit=None), "/view"),
        (
            modal(
                blocks=[{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]
            ),
            "/view/blocks/1/block_id",
        ),
        (
            modal(
                blocks=[
                    {
                        "type": "input",
                        "label": {"type": "plain_text", "text": "Secret"},
                        "element": {"type": "plain_text_input", "max_length": 3001},
                    }
                ]
            ),
            "/view/blocks/0/element/max_length",
        ),
    ],
)
def test_invalid_views_are_invalid_arguments(slack, client, view, pointer):
    """A view breaking a documented limit answers invalid_arguments with messages."""
    trigger = slack.new_trigger_id()
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=trigger, view=view)
    assert raised.value.response["error"] == "invalid_arguments"
    messages = raised.value.response["response_metadata"]["messages"]
    assert any(f"[json-pointer:{pointer}]" in m for m in messages), messages
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]  # trigger not spent


def test_views_update_checks_the_hash(slack, client):
    """views.update with a stale hash answers hash_conflict; with the current one it works."""
    opened = client.views_open(trigger_id=slack.new_trigger_id(), view=modal())["view"]
    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal(private_metadata="step 2")
    )["view"]
    assert (updated["id"], updated["private_metadata"]) == (opened["id"], "step 2")
    stale = lambda: client.views_update(  # noqa: E731
        view_id=opened["id"], hash="0.stale", view=modal()
    )
    assert error_of(stale) == "hash_conflict"


def test_views_update_finds_views_by_external_id(slack, client):
    """views.update reaches a view by external_id; an unknown one is not_found."""
    client.views_open(trigger_id=slack.new_trigger_id(), view=modal(external_id="share-1"))
    updated = client.views_update(external_id="share-1", view=modal(external_id="share-1"))
    assert updated["view"]["external_id"] == "share-1"
    assert error_of(lambda: client.views_update(view_id="V0NONE", view=modal())) == "not_found"
    duplicate = lambda: client.views_open(  # noqa: E731
        trigger_id=slack.new_trigger_id(), view=modal(external_id="share-1")
    )
    assert error_of(duplicate) == "duplicate_external_id"


def test_views_push_stacks_at_most_three_views(slack, client):
    """Two pushes onto an open modal succeed; the third is push_limit_reached."""
    root = client.views_open(trigger_id=slack.new_trigger_id(), view=modal())["view"]
    top = root
    for _ in range(2):
        trigger = slack.new_trigger_id(view_id=top["id"])
        pushed = client.views_push(trigger_id=trigger, view=modal())["view"]
        assert (pushed["root_view_id"], pushed["previous_view_id"]) == (root["id"], top["id"])
        top = pushed
    third = lambda: client.views_push(  # noqa: E731
        trigger_id=slack.new_trigger_id(view_id=top["id"]), view=modal()
    )
    assert error_of(third) == "push_limit_reached"


def test_closed_modal_cannot_be_updated(slack, client):
    """After the user closes a modal, views.update answers not_found."""
    view = client.views_open(trigger_id=slack.new_trigger_id(), view=modal())["view"]
    assert [v["id"] for v in slack.open_views()] == [view["id"]]
    slack.close_view(view["id"])
    assert slack.open_views() == []
    assert error_of(lambda: client.views_update(view_id=view["id"], view=modal())) == "not_found"


# -- response_url ------------------------------------------------------------------------


def test_response_url_replaces_the_original_message(slack, client):
    """replace_original rewrites the message the interaction came from; answer 200 "ok"."""
    ts = client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="v1")["message_ts"]
    url = slack.new_response_url(channel_id="C0GENERAL", user_id="U0ALICE", message_ts=ts)
    answer = WebhookClient(url).send(text="v2", replace_original=True)
    assert (answer.status_code, answer.body) == (200, "ok")
    [message] = slack.messages("C0GENERAL")
    assert (message.ts, message.text, message.ephemeral_to) == (ts, "v2", "U0ALICE")
    [call] = slack.calls_to("response_url")
    assert call.params == {"text": "v2", "replace_original": True}
    assert call.context == {
        "url": url,
        "channel_id": "C0GENERAL",
        "user_id": "U0ALICE",
        "message_ts": ts,
    }


def test_response_url_deletes_the_original_message(slack, client):
    """delete_original removes the message, ephemeral ones included."""
    ts = client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="x")["message_ts"]
    url = slack.new_response_url(channel_id="C0GENERAL", user_id="U0ALICE", message_ts=ts)
    assert WebhookClient(url).send(delete_original=True).status_code == 200
    assert slack.messages("C0GENERAL")[0].deleted


def test_response_url_posts_new_messages(slack):
    """Without replace_original a post is new: ephemeral by default, or in_channel."""
    url = slack.new_response_url(channel_id="C0GENERAL", user_id="U0BOB")
    webhook = WebhookClient(url)
    webhook.send(text="just you")
    webhook.send(text="everyone", response_type="in_channel")
    private, public = slack.messages("C0GENERAL")
    assert (private.text, private.ephemeral_to, private.via) == (
        "just you",
        "U0BOB",
        "response_url",
    )
    assert (public.text, public.ephemeral_to) == ("everyone", None)


def test_response_url_allows_five_uses(slack):
    """A response_url takes 5 posts; the sixth answers 404."""
    webhook = WebhookClient(slack.new_response_url(channel_id="C0GENERAL", user_id="U0BOB"))
    assert [webhook.send(text=str(i)).status_code for i in range(5)] == [200] * 5
    sixth = webhook.send(text="6")
    assert (sixth.status_code, sixth.body) == (404, "used_url")


def test_response_url_expires_after_thirty_minutes(slack, clock):
    """A response_url older than 30 minutes answers 404."""
    webhook = WebhookClient(slack.new_response_url(channel_id="C0GENERAL", user_id="U0BOB"))
    clock.now += 30 * 60 + 1
    late = webhook.send(text="late")
    assert (late.status_code, late.body) == (404, "expired_url")


def test_response_url_refuses_unknown_urls_and_bad_bodies(slack):
    """An unknown response_url is 404; a body that is not JSON is 400; no text is 400."""
    assert WebhookClient(slack.root_url + "/response/nope").send(text="x").status_code == 404
    url = slack.new_response_url(channel_id="C0GENERAL", user_id="U0BOB")
    status, _, body = raw_post(
        slack, urlsplit(url).path, b"text=x", "application/x-www-form-urlencoded"
    )
    assert (status, body) == (400, "invalid_payload")
    assert WebhookClient(url).send_dict({}).status_code == 400


# -- faults, rate limits and latency -----------------------------------------------------


def test_fail_answers_the_error_then_recovers(slack, client):
    """fail() makes the next call answer HTTP 200 ok=false with the error, once."""
    slack.fail("chat.postEphemeral", error="user_not_in_channel")
    post = lambda: client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="x")  # noqa: E731
    with pytest.raises(SlackApiError) as raised:
        post()
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "user_not_in_channel"
    assert post()["ok"]


def test_fail_until_cleared(slack, client):
    """fail(times=None) keeps failing until clear_faults()."""
    slack.fail("users.info", error="fatal_error", times=None)
    for _ in range(3):
        assert error_of(lambda: client.users_info(user="U0ALICE")) == "fatal_error"
    slack.clear_faults()
    assert client.users_info(user="U0ALICE")["ok"]


def test_fail_response_url(slack):
    """fail("response_url") makes the next post answer 404 with the error as body."""
    slack.fail("response_url", error="expired_url")
    webhook = WebhookClient(slack.new_response_url(channel_id="C0GENERAL", user_id="U0BOB"))
    answer = webhook.send(text="x")
    assert (answer.status_code, answer.body) == (404, "expired_url")
    assert webhook.send(text="x").status_code == 200


def test_rate_limit_answers_429_with_retry_after(slack, client):
    """rate_limit() answers HTTP 429, a Retry-After header and error ratelimited."""
    slack.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0GENERAL", text="x")
    response = raised.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"


def test_rate_limit_is_honoured_by_the_sdk_retry_handler(slack):
    """RateLimitErrorRetryHandler waits Retry-After seconds and the retry succeeds."""
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.rate_limit("chat.postMessage", retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


def test_latency_delays_answers_concurrently(slack):
    """20 parallel calls at 0.2 s latency finish in well under 20 x 0.2 s."""
    slack.latency = 0.2
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: client.auth_test()["ok"], range(20)))
    elapsed = time.monotonic() - started
    assert answers == [True] * 20
    assert 0.2 <= elapsed < 1.5


def test_arrived_counts_calls_still_waiting_out_the_latency(slack):
    """A call counts as arrived before its answer leaves (and it is recorded)."""
    slack.latency = 0.5
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [pool.submit(client.auth_test) for _ in range(2)]
        deadline = time.monotonic() + 2
        while slack.arrived("auth.test") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slack.arrived("auth.test") == 2
        assert slack.calls_to("auth.test") == []
        assert slack.arrived("auth.revoke") == 0
        assert all(p.result()["ok"] for p in pending)
    assert len(slack.calls_to("auth.test")) == 2


# -- recording ---------------------------------------------------------------------------


def test_wait_for_returns_matching_calls(slack, client):
    """wait_for blocks until enough matching calls are recorded and returns them."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: [client.chat_postMessage(channel="C0GENERAL", text=t) for t in "ab"])
        calls = slack.wait_for(
            "chat.postMessage", count=2, where=lambda c: c.params["channel"] == "C0GENERAL"
        )
    assert [c.params["text"] for c in calls] == ["a", "b"]
    assert all(c.ok and c.status == 200 for c in calls)


def test_wait_for_timeout_summarises_what_was_recorded(slack, client):
    """On timeout wait_for raises AssertionError listing every recorded call."""
    client.auth_test()
    error_of(lambda: client.chat_postMessage(channel="C0NOWHERE", text="x"))
    with pytest.raises(AssertionError) as raised:
        slack.wait_for("views.open", timeout=0.2)
    message = str(raised.value)
    assert "found 0" in message
    assert "1. auth.test 200 ok" in message
    assert "2. chat.postMessage 200 error=channel_not_found" in message


def test_sent_texts_walks_every_param(slack, client):
    """sent_texts lists every string sent, nested block and view text included."""
    client.chat_postMessage(
        channel="C0GENERAL",
        text="fallback",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "nested"}}],
    )
    client.views_open(trigger_id=slack.new_trigger_id(), view=modal())
    texts = slack.sent_texts()
    assert {"fallback", "nested", "Share a secret"} <= set(texts)
    assert TOKEN not in texts


def test_reset_forgets_calls_and_faults_but_keeps_the_workspace(slack, client):
    """reset() clears calls, faults and messages; users and channels remain."""
    client.chat_postMessage(channel="C0GENERAL", text="x")
    slack.fail("users.info", error="fatal_error", times=None)
    slack.reset()
    assert slack.calls == []
    assert slack.messages() == []
    assert client.users_info(user="U0ALICE")["ok"]
    assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]


def test_lost_answer_takes_effect_but_the_caller_sees_a_disconnect():
    """lose_answers: the call happens and is recorded, but no answer comes back."""
    import http.client

    with SlackStandIn(bot_token="xoxb-t") as slack:
        slack.add_user("U1", "one")
        slack.lose_answers("chat.postMessage")
        conn = http.client.HTTPConnection("127.0.0.1", int(slack.base_url.split(":")[2]
                                                           .split("/")[0]), timeout=5)
        conn.request("POST", "/api/chat.postMessage", body=b'{"channel":"U1","text":"hi"}',
                     headers={"Authorization": "Bearer xoxb-t",
                              "Content-Type": "application/json"})
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            conn.getresponse()
        [call] = slack.calls_to("chat.postMessage")
        assert call.ok
        assert len(slack.messages()) == 1
