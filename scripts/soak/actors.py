"""The simulated people: what each kind of operation does, and what it notes in the ledger.

Every request goes through `SlackSim` (signed, shaped like Slack's) to the real bot.
What a person is told comes from the bot's HTTP answer or from what the bot sent to the
Slack stand-in (read through the `Observer`). An answer slower than Slack's 3 s counts
as no answer: Slack would have shown the person an error by then.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devtools.harness.slack_client import Reply, SlackSim
from scripts.soak.ledger import AdminCall, Click, Ledger, Revoke, Share
from scripts.soak.observer import Observer, Prompt, notice_text, view_kind

SLACK_TIMEOUT = 3.0
_CODE = re.compile(r"`([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})`")
_LABEL = re.compile(r"soak-label-\d+")
UNREACHABLE = "no answer (the bot is unreachable)"
SLOW = "no answer within Slack's 3 s"


@dataclass
class People:
    """Who is in the soak's workspace."""

    channel: str
    members: list[str]  # in the channel: Reveal messages come as ephemerals there
    outsiders: list[str]  # not in it: Reveal messages come as DMs
    admin: str

    @property
    def everyone(self) -> list[str]:
        return self.members + self.outsiders


@dataclass
class Actors:
    sim: SlackSim
    observer: Observer
    ledger: Ledger
    people: People
    short_expiry: bool  # some shares expire after 5 minutes (long runs only)
    rng: random.Random = field(default_factory=random.Random)

    # -- transport ---------------------------------------------------------------

    def _send(self, operation: str, send: Callable[[], Reply]) -> Reply | None:
        """The bot's answer, or None (noted as an error) when a person would have seen
        Slack's "didn't respond" instead."""
        started = time.monotonic()
        try:
            reply = send()
        except OSError:
            self.ledger.error(operation, UNREACHABLE)
            return None
        if time.monotonic() - started > SLACK_TIMEOUT:
            self.ledger.error(operation, SLOW)
            return None
        if reply.status != 200:
            self.ledger.error(operation, f"HTTP {reply.status}")
            return None
        return reply

    def _opened(self, trigger: str, timeout: float = 4.0) -> Any:
        return self.observer.wait(lambda: self.observer.opened.get(trigger), timeout)

    # -- sharing -----------------------------------------------------------------

    def share(self, sender: str) -> None:
        self.ledger.count("share")
        others = [p for p in self.people.everyone if p != sender]
        recipients = tuple(self.rng.sample(others, self.rng.choice([1, 1, 2, 3])))
        mode = self.rng.choices(["each", "total", "unlimited"], [6, 3, 1])[0]
        total = self.rng.randint(1, 3) if mode == "total" else None
        token = f"soak-secret-{secrets.token_hex(12)}"
        fmt, text = self.rng.choice([("text", token), ("text", f"password: {token}"),
                                     ("json", json.dumps({"token": token})),
                                     ("env", f"API_KEY={token}")])
        passphrase = f"soak-pass-{secrets.token_hex(8)}" if self.rng.random() < 0.25 else None
        expiry = 300 if self.short_expiry and self.rng.random() < 0.15 else \
            self.rng.choice([3600, 86400])
        label = f"soak-label-{secrets.randbelow(10**12)}"
        command = self._send("share", lambda: self.sim.slash_command(
            sender, self.people.channel, " ".join(f"<@{r}>" for r in recipients)))
        if command is None:
            return
        if command.body:
            self.ledger.error("share", "form not opened: " + str(command.json().get("text")))
            return
        opened = self._opened(command.trigger_id or "")
        if opened is None or not opened.ok:
            self.ledger.error("share", "form not opened: " + (
                str(opened.response.get("error")) if opened else "no modal within 4 s"))
            return
        entry = Share(label=label, sender=sender, recipients=recipients, mode=mode, total=total,
                      plaintext=text, passphrase=passphrase, expiry_seconds=expiry,
                      submitted_at=time.time())
        fields: dict[str, Any] = {"label": label, "format": fmt, "views": mode}
        if total:
            fields["total_views"] = str(total)
        if passphrase:
            fields["passphrase"] = passphrase
        if expiry == 300:
            fields["custom_expiry"] = "5m"
        self.ledger.add_share(entry)
        reply = self._send("share", lambda: self.sim.submit(
            sender, dict(opened.response["view"]), recipients=list(recipients), secret=text,
            expiry=str(expiry if expiry != 300 else 3600), **fields))
        if reply is None:
            return  # unknown: the sender cannot tell whether it was shared
        if not reply.body:
            entry.outcome = "confirmed"
            return
        errors = (reply.json() or {}).get("errors") or {}
        entry.outcome, entry.message = "refused", "; ".join(str(v) for v in errors.values())
        self.ledger.error("share", entry.message or "refused without a message")

    # -- revealing ---------------------------------------------------------------

    def reveal(self, user: str, *, wrong_user: bool = False) -> None:
        prompt = self._pick_prompt(user, wrong_user=wrong_user)
        if prompt is None:
            return
        operation = "wrong-user click" if wrong_user else "reveal"
        self.ledger.count(operation)
        payload = self.sim.block_action(user, prompt.message, prompt.button)
        click = Click(kind="wrong_user" if wrong_user else "reveal", user=user,
                      secret_id=prompt.secret_id, trigger=payload["trigger_id"],
                      recipient=not wrong_user)
        self.ledger.add(click)
        if self._send(operation, lambda: self.sim.interaction(payload)) is None:
            return
        url = payload["response_url"]
        self._outcome(click, operation, url, lambda: self._opened(click.trigger or "", 3.5))
        if click.answer == "passphrase_asked":
            opened = self.observer.opened[click.trigger or ""]
            self._unlock(user, prompt, dict(opened.response["view"]), url,
                         operation=operation, recipient=not wrong_user)

    def _pick_prompt(self, user: str, *, wrong_user: bool) -> Prompt | None:
        if not wrong_user:
            mine = self.observer.snapshot(lambda: list(self.observer.prompts.get(user, [])))
            return self.rng.choice(mine[-30:]) if mine else None
        owners = [p for p in self.people.everyone if p != user]
        owner = self.rng.choice(owners)
        theirs = self.observer.snapshot(lambda: list(self.observer.prompts.get(owner, [])))
        for prompt in self.rng.sample(theirs[-30:], min(5, len(theirs[-30:]))):
            found = _LABEL.search(prompt.message.text + json.dumps(prompt.message.blocks))
            share = self.ledger.shares.get(found.group()) if found else None
            if share and user not in share.recipients:
                return prompt
        return None

    def _outcome(self, click: Click, operation: str, url: str,
                 modal: Callable[[], Any]) -> None:
        """What the person saw after a click: a modal, or a message on the response_url."""
        call = modal()
        if call is not None and call.ok:
            view = dict(call.params["view"])
            click.outcome, click.answer = "seen", view_kind(view)
            if click.answer not in ("shown", "passphrase_asked", "checking"):
                self.ledger.error(operation, notice_text(view))
            return
        posted = self.observer.wait(lambda: self.observer.posts.get(url), 1.5)
        if posted:
            text = str(posted[0].params.get("text") or "")
            click.outcome, click.answer = "seen", "message"
            self.ledger.error(operation, text[:120])
            return
        why = f"Slack failed to show the answer ({call.response.get('error')})" if call \
            else "nothing shown"
        self.ledger.error(operation, why)

    def _unlock(self, user: str, prompt: Prompt, form: dict[str, Any], url: str, *,
                operation: str, recipient: bool) -> None:
        """Type the passphrase (a stranger types the right one too: it may have leaked)."""
        share = self._share_of(prompt)
        if share is None or share.passphrase is None:
            return
        attempts = [True, False] if recipient and self.rng.random() < 0.15 else [False]
        for wrong in attempts:
            typed = "soak-wrong-passphrase" if wrong else share.passphrase
            before = self.observer.snapshot(lambda: len(self.observer.updates[form["id"]]))
            click = Click(kind="unlock", user=user, secret_id=prompt.secret_id,
                          view_id=form["id"], wrong_passphrase=wrong, recipient=recipient)
            self.ledger.add(click)
            self.ledger.count("passphrase typed" + (" (wrong)" if wrong else ""))
            if self._send(operation, lambda t=typed: self.sim.submit_passphrase(user, form, t)) \
                    is None:
                return

            def update(after: int = before) -> Any:
                done = self.observer.updates[form["id"]][after:]
                return done[0] if done else None
            self._outcome(click, operation, url, lambda: self.observer.wait(update, 4.0))
            if click.answer != "wrong_passphrase":
                return

    def _share_of(self, prompt: Prompt) -> Share | None:
        found = _LABEL.search(prompt.message.text + json.dumps(prompt.message.blocks))
        return self.ledger.shares.get(found.group()) if found else None

    # -- managing ----------------------------------------------------------------

    def revoke(self, sender: str) -> None:
        receipts = self.observer.snapshot(lambda: list(self.observer.receipts[sender].values()))
        if not receipts:
            return
        receipt = self.rng.choice(receipts[-20:])
        self.ledger.count("revoke")
        entry = Revoke(code=receipt.code, user=sender, admin=False)
        self.ledger.add(entry)
        if receipt.revoke is None or self.rng.random() < 0.5:
            reply = self._send("revoke", lambda: self.sim.slash_command(
                sender, self.people.channel, f"revoke {receipt.code}"))
            if reply is not None:
                self._revoke_answer(entry, str((reply.json() or {}).get("text") or ""))
            return
        payload = self.sim.block_action(sender, receipt.message, receipt.revoke)
        if self._send("revoke", lambda: self.sim.interaction(payload)) is None:
            return
        posted = self.observer.wait(lambda: self.observer.posts.get(payload["response_url"]), 4)
        if posted:
            self._revoke_answer(entry, str(posted[0].params.get("text") or ""))
        else:
            self.ledger.error("revoke", "nothing shown")

    def _revoke_answer(self, entry: Revoke, text: str) -> None:
        entry.outcome = "seen"
        entry.answer = "revoked" if "Revoked" in text else "ended" if "already" in text \
            else "other"
        if entry.answer == "other":
            self.ledger.error("revoke", text[:120])

    def list_secrets(self, sender: str) -> None:
        self.ledger.count("list")
        reply = self._send("list", lambda: self.sim.slash_command(
            sender, self.people.channel, "list"))
        text = str((reply.json() or {}).get("text") or "") if reply and reply.body else ""
        if reply is not None and ("unavailable" in text or not reply.body):
            self.ledger.error("list", text[:120] or "empty answer")

    def open_home(self, user: str) -> None:
        self.ledger.count("home opened")
        self.ledger.opened_home(user)
        self._send("home opened", lambda: self.sim.open_home(user))

    def admin(self, user: str) -> None:
        is_admin = user == self.people.admin
        operation = "admin list" if is_admin else "admin list (non-admin)"
        self.ledger.count(operation)
        call = AdminCall(user=user, is_admin=is_admin)
        self.ledger.add(call)
        reply = self._send(operation, lambda: self.sim.slash_command(
            user, self.people.channel, "admin list active"))
        if reply is None:
            return
        body = json.dumps(reply.json())
        call.outcome = "seen"
        call.answer = "refused" if "Only share-secret admins" in body else \
            "listed" if reply.body and "blocks" in body and "unavailable" not in body else "other"
        if call.answer != "listed":
            self.ledger.error(operation, str((reply.json() or {}).get("text"))[:120])
        codes = _CODE.findall(body)
        if is_admin and codes and self.rng.random() < 0.1:
            self.ledger.count("admin revoke")
            entry = Revoke(code=self.rng.choice(codes), user=user, admin=True)
            self.ledger.add(entry)
            answer = self._send("admin revoke", lambda: self.sim.slash_command(
                user, self.people.channel, f"admin revoke {entry.code}"))
            if answer is not None:
                self._revoke_answer(entry, str((answer.json() or {}).get("text") or ""))
