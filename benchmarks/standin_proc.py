"""The Slack stand-in in a process of its own, with a small control API for the benchmark.

    python -m benchmarks.standin_proc   (prints its root URL on stdout, then serves)

The stand-in is the test suite's (`devtools/slack_stand_in`), served on its asyncio
transport (the same answers as the tests' threaded one). This wrapper only
adds routes under `/bench/` that the benchmark needs from another process: mint
trigger ids and response_urls (Slack would put them in each request it sends), add
users, set the latency, and read back a compact record of the calls the bot made.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import threading
from typing import Any

from benchmarks.payloads import API_APP_ID, BOT_ID
from devtools.slack_stand_in import SlackStandIn
from devtools.slack_stand_in.server import HttpRequest, Steps
from devtools.slack_stand_in.wire import Answer

BOT_TOKEN = "xoxb-bench-0000000000-0000000000-benchbenchbenchbench"
TEAM_ID = "T0BENCH"
GENERAL = "C0GENERAL"
AUDIT = "C0AUDIT"


class BenchStandIn(SlackStandIn):
    """SlackStandIn plus `/bench/*` control routes (everything else is the stand-in's)."""

    def _serve(self, request: HttpRequest) -> Steps:
        if not request.path.startswith("/bench/"):
            return (yield from super()._serve(request))
        body: dict[str, Any] = json.loads(request.body or b"{}")
        handler = getattr(self, "_bench_" + request.path[len("/bench/"):], None)
        if handler is None:
            return Answer(404, {"ok": False, "error": "unknown control route"})
        return Answer(200, {"ok": True, **handler(body)})

    def _bench_mint(self, body: dict[str, Any]) -> dict[str, Any]:
        """A trigger id and a response_url for each [channel, user] in `items`."""
        items = []
        for channel, user in body["items"]:
            items.append([self.new_trigger_id(),
                          self.new_response_url(channel_id=channel, user_id=user)])
        return {"items": items}

    def _bench_users(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add people (each a member of `channel`)."""
        for user_id in body["ids"]:
            self.add_user(user_id, user_id.lower())
            self.set_member(body["channel"], user_id)
        return {"added": len(body["ids"])}

    def _bench_latency(self, body: dict[str, Any]) -> dict[str, Any]:
        self.latency = float(body["seconds"])
        return {"latency": self.latency}

    def _bench_clear(self, body: dict[str, Any]) -> dict[str, Any]:
        """Forget calls, messages, triggers and response urls; keep people and latency."""
        latency = self.latency
        self.reset()
        self.latency = latency
        gc.collect()  # the cyclic collector runs here only (see main)
        return {}

    def _bench_count(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"count": len(self.calls)}

    def _bench_calls(self, body: dict[str, Any]) -> dict[str, Any]:
        """Compact rows: method, at, ok, error, trigger_id, user, channel, text head
        (for views.* calls, the view's title)."""
        rows = []
        for call in self.calls:
            params = call.params
            text = params.get("text")
            if call.method.startswith("views.") and isinstance(params.get("view"), dict):
                text = _view_summary(params["view"])
            rows.append([
                call.method, call.at, call.ok, None if call.ok else call.response.get("error"),
                params.get("trigger_id"), params.get("user") or params.get("users"),
                params.get("channel") or (call.context or {}).get("channel_id"),
                str(text or "")[:120],
            ])
        return {"calls": rows}


def _view_summary(view: dict[str, Any]) -> str:
    """A view's title, and after " | " the start of its first section (which notice)."""
    title = (view.get("title") or {}).get("text") or ""
    for block in view.get("blocks") or []:
        if block.get("type") == "section":
            return f"{title} | {((block.get('text') or {}).get('text') or '')[:60]}"
    return title


def main() -> int:
    # The cyclic collector's passes over thousands of people and each run's growing record
    # of calls cost the stand-in more than some calls do: it collects between runs
    # (`/bench/clear`) instead. Almost nothing it makes per call is cyclic garbage.
    gc.disable()
    # One event loop rather than a thread per connection: real Slack costs the bot's
    # machine nothing, so the stand-in beside the bot should cost it as little as it can.
    slack = BenchStandIn(bot_token=BOT_TOKEN, team_id=TEAM_ID, team_domain="bench",
                         app_id=API_APP_ID, bot_id=BOT_ID, transport="asyncio")
    slack.add_channel(GENERAL, "general")
    slack.add_channel(AUDIT, "share-secret-audit")
    slack.start()
    print(slack.root_url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    slack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
