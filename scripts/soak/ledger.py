"""The soak's own record of what each simulated person did and was told.

Everything here is what a person could know from Slack's side: the answer to a request,
the modal or message the bot sent back. The invariant checker compares it with what
Redis, the audit log and the Slack stand-in hold at the end.

An outcome is `seen` when the person saw a definite answer, `unknown` when they did not
(the bot was down, Slack failed to show the answer, nothing came back in time): the bot
may or may not have acted, so the checker allows both.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["seen", "unknown"]
ShareOutcome = Literal["confirmed", "refused", "unknown"]


@dataclass
class Share:
    """One press of Share in the form. `label` is unique and joins everything up."""

    label: str
    sender: str
    recipients: tuple[str, ...]
    mode: str  # each | total | unlimited
    total: int | None
    plaintext: str
    passphrase: str | None
    expiry_seconds: int
    submitted_at: float
    outcome: ShareOutcome = "unknown"
    message: str | None = None  # what the sender was told when it was not shared


@dataclass
class Click:
    """One attempt to see a secret: a Reveal click (`trigger`), or a passphrase typed into
    the unlock form (`view_id`). `kind`: reveal | wrong_user | unlock."""

    kind: str
    user: str
    secret_id: str
    trigger: str | None = None
    view_id: str | None = None
    wrong_passphrase: bool = False
    recipient: bool = True  # False: someone the secret was not shared with
    outcome: Outcome = "unknown"
    answer: str | None = None  # shown | not_for_you | unavailable | wrong_passphrase | ...


@dataclass
class Revoke:
    """A revoke by a sender (`/share-secret revoke CODE` or the receipt's button) or an
    admin (`/share-secret admin revoke CODE`)."""

    code: str
    user: str
    admin: bool
    outcome: Outcome = "unknown"
    answer: str | None = None  # revoked | ended | not_found | ...


@dataclass
class AdminCall:
    """`/share-secret admin list` by someone (an admin or not)."""

    user: str
    is_admin: bool
    outcome: Outcome = "unknown"
    answer: str | None = None  # listed | refused | ...


@dataclass
class Ledger:
    """Thread-safe: the clients append from several threads."""

    shares: dict[str, Share] = field(default_factory=dict)
    clicks: list[Click] = field(default_factory=list)
    revokes: list[Revoke] = field(default_factory=list)
    admin_calls: list[AdminCall] = field(default_factory=list)
    home_opens: Counter[str] = field(default_factory=Counter)  # by user
    operations: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operation, message)
    events: list[tuple[float, str]] = field(default_factory=list)  # the chaos timeline
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, operation: str) -> None:
        with self._lock:
            self.operations[operation] += 1

    def error(self, operation: str, message: str) -> None:
        """A person saw (or got, instead of an answer) this error."""
        with self._lock:
            self.errors[(operation, message)] += 1

    def add_share(self, share: Share) -> None:
        with self._lock:
            self.shares[share.label] = share

    def add(self, item: Click | Revoke | AdminCall) -> None:
        with self._lock:
            if isinstance(item, Click):
                self.clicks.append(item)
            elif isinstance(item, Revoke):
                self.revokes.append(item)
            else:
                self.admin_calls.append(item)

    def opened_home(self, user: str) -> None:
        with self._lock:
            self.home_opens[user] += 1

    def note(self, at: float, what: str) -> None:
        """A line of the chaos timeline (a restart, a burst of faults)."""
        with self._lock:
            self.events.append((at, what))

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "shares": [asdict(s) for s in self.shares.values()],
                "clicks": [asdict(c) for c in self.clicks],
                "revokes": [asdict(r) for r in self.revokes],
                "admin_calls": [asdict(a) for a in self.admin_calls],
                "home_opens": dict(self.home_opens),
                "operations": dict(self.operations),
                "errors": [{"operation": op, "message": m, "count": n}
                           for (op, m), n in self.errors.most_common()],
                "events": self.events,
            }
