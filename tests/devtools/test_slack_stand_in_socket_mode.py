"""The stand-in's Socket Mode, driven by slack_sdk's own aiohttp SocketModeClient (the
client Bolt's AsyncSocketModeHandler uses), answers as Slack documents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from devtools.slack_stand_in import SlackStandIn

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0001-1-test"
COMMAND = {"command": "/share-secret", "text": "", "user_id": "U0ALICE",
           "channel_id": "C0GENERAL", "team_id": "T0001", "trigger_id": "1.2.abc"}


@pytest.fixture
def slack():
    with SlackStandIn(BOT_TOKEN, app_token=APP_TOKEN, app_id="A0001") as stand_in:
        yield stand_in


@pytest.fixture
async def client(slack: SlackStandIn) -> AsyncIterator[SocketModeClient]:
    """The SDK's client, answering every request with the payload it carried."""
    web = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    # A short ping interval so that a cut connection is noticed within a second.
    socket = SocketModeClient(APP_TOKEN, web_client=web, ping_interval=0.25)

    async def echo(client: SocketModeClient, request: SocketModeRequest) -> None:
        await client.send_socket_mode_response(
            SocketModeResponse(request.envelope_id, payload={"echo": request.payload}))

    socket.socket_mode_request_listeners.append(echo)
    await socket.connect()
    yield socket
    await socket.close()


def open_error(slack: SlackStandIn, app_token: str) -> str:
    """Call apps.connections.open with this token, as the SDK sends it; return the error."""
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.base_url).apps_connections_open(app_token=app_token)
    return raised.value.response["error"]


def test_connections_open_answers_a_websocket_url_for_the_app_token(slack):
    """The app-level token, sent as Bearer by the SDK, gets a ws:// link with a ticket."""
    answer = WebClient(base_url=slack.base_url).apps_connections_open(app_token=APP_TOKEN)
    assert answer["url"].startswith("ws://127.0.0.1:")
    assert "/link/?ticket=" in answer["url"]
    [call] = slack.calls_to("apps.connections.open")
    assert call.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    assert call.params == {}


def test_connections_open_refuses_other_tokens(slack):
    """A bot token is the wrong type; a wrong xapp token is invalid; none is not_authed."""
    bot = WebClient(token=BOT_TOKEN, base_url=slack.base_url)
    assert open_error(slack, BOT_TOKEN) == "not_allowed_token_type"
    assert open_error(slack, "xapp-1-A0001-1-other") == "invalid_auth"
    with pytest.raises(SlackApiError) as raised:
        bot.api_call("apps.connections.open")  # the client's bot token, as Bearer
    assert raised.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.base_url).api_call("apps.connections.open")
    assert raised.value.response["error"] == "not_authed"


def test_app_token_as_a_form_argument_is_refused(slack):
    """The method page requires the token in the Authorization header, not the body."""
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.base_url).api_call(
            "apps.connections.open", data={"token": APP_TOKEN})
    assert raised.value.response["error"] == "invalid_auth"


def test_the_app_token_works_for_no_bot_method(slack):
    """The app-level token only opens connections; bot methods refuse it."""
    app = WebClient(token=APP_TOKEN, base_url=slack.base_url)
    with pytest.raises(SlackApiError):  # unverified: which error code Slack uses here
        app.auth_test()


async def test_unknown_and_used_tickets_are_refused(slack):
    """A link opens once; a made-up ticket or a second use fails the upgrade."""
    url = await asyncio.to_thread(slack.socket.issue_url)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as socket:
            hello = await socket.receive_json(timeout=5)
        for bad in (url, url.replace("ticket=", "ticket=x")):
            with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
                await session.ws_connect(bad)
            assert raised.value.status == 401
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": "A0001"}
    assert hello["num_connections"] == 1


async def test_envelope_is_delivered_and_its_ack_recorded(slack, client):
    """A slash command envelope reaches the client, whose ack carries the response."""
    await asyncio.to_thread(slack.socket.wait_connected)
    envelope_id = await asyncio.to_thread(slack.socket.send_envelope, "slash_commands", COMMAND)
    ack = await asyncio.to_thread(slack.socket.wait_ack, envelope_id)
    assert ack == {"envelope_id": envelope_id, "payload": {"echo": COMMAND}}
    [recorded] = slack.socket.acks
    assert recorded.payload == {"echo": COMMAND}
    assert recorded.seconds is not None
    assert recorded.seconds < 3.0
    assert slack.socket.other_messages == []


async def test_a_dropped_connection_is_replaced_by_a_new_link(slack, client):
    """After Slack closes the socket, the client opens a new link and envelopes flow again."""
    await asyncio.to_thread(slack.socket.wait_connected)
    await asyncio.to_thread(slack.socket.drop)
    await asyncio.to_thread(slack.socket.wait_connected, 2)
    assert len(slack.calls_to("apps.connections.open")) == 2
    envelope_id = await asyncio.to_thread(slack.socket.send_envelope, "slash_commands", COMMAND)
    assert (await asyncio.to_thread(slack.socket.wait_ack, envelope_id))["payload"]


async def test_a_cut_connection_is_noticed_and_replaced(slack, client):
    """A connection cut without a close frame is replaced once the client notices."""
    await asyncio.to_thread(slack.socket.wait_connected)
    await asyncio.to_thread(slack.socket.drop, abort=True)
    await asyncio.to_thread(slack.socket.wait_connected, 2, 10.0)
    assert slack.socket.open_connections == 1


async def test_disconnect_message_makes_the_client_reconnect(slack, client):
    """`disconnect` (refresh_requested) makes the client fetch a new URL and reconnect."""
    await asyncio.to_thread(slack.socket.wait_connected)
    await asyncio.to_thread(slack.socket.disconnect, "refresh_requested")
    await asyncio.to_thread(slack.socket.wait_connected, 2)
    event = {"type": "event_callback", "event": {"type": "app_mention", "text": "hi"}}
    envelope_id = await asyncio.to_thread(slack.socket.send_envelope, "events_api", event)
    ack = await asyncio.to_thread(slack.socket.wait_ack, envelope_id)
    assert ack["payload"] == {"echo": event}


async def test_unacknowledged_envelope_times_out_with_a_summary(slack, client):
    """wait_ack fails loudly, naming what was acknowledged, when no ack comes."""
    await asyncio.to_thread(slack.socket.wait_connected)
    with pytest.raises(AssertionError, match="an ack of nope"):
        await asyncio.to_thread(slack.socket.wait_ack, "nope", 0.2)


async def test_reset_forgets_acks_but_keeps_the_connection(slack, client):
    """slack.reset() clears acknowledgements; the open link stays usable."""
    await asyncio.to_thread(slack.socket.wait_connected)
    first = await asyncio.to_thread(slack.socket.send_envelope, "slash_commands", COMMAND)
    await asyncio.to_thread(slack.socket.wait_ack, first)
    slack.reset()
    assert slack.socket.acks == []
    second = await asyncio.to_thread(slack.socket.send_envelope, "slash_commands", COMMAND)
    await asyncio.to_thread(slack.socket.wait_ack, second)
    assert slack.socket.connections == 1


def test_only_slack_envelope_types_are_sent(slack):
    """Envelope types are Slack's three; anything else is a test bug."""
    with pytest.raises(ValueError, match="envelope type"):
        slack.socket.send_envelope("hello", {})
