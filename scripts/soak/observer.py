"""What each simulated person sees, read from the Slack stand-in as the bot calls it.

The stand-in keeps every call; scanning them all for each wait would cost the soak more
than the bot. One thread reads the new calls as they come and indexes what people need:
the modal opened for a trigger, the posts to a response_url, the Reveal messages each
person has, the receipts each sender got.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from devtools.harness.payloads import REVEAL_ACTIONS
from devtools.slack_stand_in import RecordedCall, SlackStandIn

T = TypeVar("T")
_RECEIPT = re.compile(r"\*(soak-label-\d+)\*.*Share code: `([A-Z0-9-]+)`", re.S)


@dataclass(frozen=True)
class SeenMessage:
    """A message as the person sees it (what a click payload is built from)."""

    channel: str
    ts: str
    ephemeral_to: str | None
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class Prompt:
    message: SeenMessage
    button: dict[str, Any]  # the Reveal button, with its block_id

    @property
    def secret_id(self) -> str:
        return str(self.button.get("value") or "")


@dataclass(frozen=True)
class Receipt:
    message: SeenMessage
    code: str
    revoke: dict[str, Any] | None  # the Revoke button, with its block_id


class Observer:
    """Indexes the stand-in's calls on a thread of its own; waits are cheap."""

    def __init__(self, slack: SlackStandIn, *, poll: float = 0.03) -> None:
        self.slack = slack
        self._poll = poll
        self._seen = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="observer", daemon=True)
        self.opened: dict[str, RecordedCall] = {}  # views.open by trigger_id
        self.updates: dict[str, list[RecordedCall]] = defaultdict(list)  # by view_id
        self.posts: dict[str, list[RecordedCall]] = defaultdict(list)  # response_url posts
        self.prompts: dict[str, list[Prompt]] = defaultdict(list)  # by recipient
        self.receipts: dict[str, dict[str, Receipt]] = defaultdict(dict)  # sender -> label
        self.dms: dict[str, str] = {}  # DM channel -> user
        self.homes: dict[str, int] = defaultdict(int)  # views.publish accepted, by user

    def start(self) -> Observer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            calls = self.slack.calls
            if len(calls) > self._seen:
                with self._cond:
                    for call in calls[self._seen:]:
                        self._index(call)
                    self._seen = len(calls)
                    self._cond.notify_all()
            time.sleep(self._poll)

    def wait(self, probe: Callable[[], T | None], timeout: float) -> T | None:
        """Wait until `probe` (run under the index's lock) returns something."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = probe()
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._cond.wait(remaining)

    def snapshot(self, probe: Callable[[], T]) -> T:
        with self._cond:
            return probe()

    # -- indexing -------------------------------------------------------------------

    def _index(self, call: RecordedCall) -> None:
        params, response = call.params, call.response
        if call.method == "views.open" and params.get("trigger_id"):
            self.opened.setdefault(str(params["trigger_id"]), call)
        elif call.method == "views.update" and params.get("view_id"):
            self.updates[str(params["view_id"])].append(call)
        elif call.method == "response_url" and call.context:
            self.posts[str(call.context["url"])].append(call)
        elif call.method == "conversations.open" and call.ok:
            self.dms[response["channel"]["id"]] = str(params.get("users"))
        elif call.method == "views.publish" and call.ok:
            self.homes[str(params.get("user_id"))] += 1
        elif call.method in ("chat.postMessage", "chat.postEphemeral") and call.ok:
            self._message(call)

    def _message(self, call: RecordedCall) -> None:
        params, response = call.params, call.response
        if call.method == "chat.postEphemeral":
            person, ts, to = str(params.get("user")), response.get("message_ts"), params["user"]
        else:
            person, ts, to = self.dms.get(str(response.get("channel"))), response.get("ts"), None
        if person is None or ts is None:
            return  # a post to a channel (the audit log)
        channel = str(response.get("channel") or params.get("channel"))
        message = SeenMessage(channel, str(ts), to, str(params.get("text") or ""),
                              list(params.get("blocks") or []))
        buttons = _buttons(message.blocks)
        reveal = [b for b in buttons if b.get("action_id") in REVEAL_ACTIONS]
        if reveal:
            self.prompts[person].append(Prompt(message, reveal[0]))
        found = _RECEIPT.search(message.text)
        if found:
            revoke = [b for b in buttons if b.get("action_id") == "revoke_secret"]
            self.receipts[person][found.group(1)] = Receipt(message, found.group(2),
                                                            revoke[0] if revoke else None)


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**element, "block_id": block.get("block_id")}
            for block in blocks if block.get("type") == "actions"
            for element in block.get("elements", [])]


def view_kind(view: dict[str, Any]) -> str:
    """What a modal the bot sent is, from the person's side."""
    title = str((view.get("title") or {}).get("text") or "")
    body = " ".join(str((b.get("text") or {}).get("text") or "") for b in view.get("blocks", [])
                    if b.get("type") == "section")
    if title == "Your secret":
        return "shown"
    if title == "Unlock secret":
        return "wrong_passphrase" if "not right" in body else (
            "checking" if "Checking" in body else "passphrase_asked")
    for needle, kind in (("not shared with you", "not_for_you"),
                         ("no longer available", "unavailable"),
                         ("temporarily unavailable", "store_down"),
                         ("couldn't be opened", "reveal_failed"), ("locked", "locked")):
        if needle in body:
            return kind
    return f"other: {title}"


def notice_text(view: dict[str, Any]) -> str:
    """A modal's first section, as the person reads it (for grouping errors)."""
    for block in view.get("blocks", []):
        if block.get("type") == "section":
            return str((block.get("text") or {}).get("text") or "")[:120]
    return str((view.get("title") or {}).get("text") or "")
