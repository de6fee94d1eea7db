"""A Slack Web API stand-in: a real HTTP server that answers like Slack does.

Usage, from the repository root::

    from devtools.slack_stand_in import SlackStandIn

    with SlackStandIn(bot_token="xoxb-test-token") as slack:
        client = WebClient(token="xoxb-test-token", base_url=slack.base_url)

Socket Mode: `SocketModeClient(slack.app_token, web_client=client)` connects through
apps.connections.open; `slack.socket` sends envelopes and records the acknowledgements.
"""

from .records import RecordedCall
from .socket_mode import SocketAck, SocketModeServer
from .standin import DEFAULT_SCOPES, SlackStandIn
from .state import Message

__all__ = ["DEFAULT_SCOPES", "Message", "RecordedCall", "SlackStandIn", "SocketAck",
           "SocketModeServer"]
