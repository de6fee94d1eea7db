"""Prometheus metrics: what the bot did, how long it took, what failed.

Labels are bounded sets named in code (request kinds, refusal reasons, Slack methods
and error codes), never ids of secrets or people, and no metric carries content.
Counters and histograms live in this process, or, with several worker processes, in
prometheus_client's multiprocess files (PROMETHEUS_MULTIPROC_DIR), summed at scrape
time. Gauges of shared state (active secrets, audit backlog) are read from Redis at
scrape time, so every replica reports the same, right value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bot.domain import AuditAction, AuditEvent, RevealOutcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Time to answer Slack: well under its 3 s, so the buckets are fine below a second.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
KINDS = frozenset({"command", "block_actions", "view_submission", "view_closed", "shortcut",
                   "event", "url_verification", "other"})
_DENIED = {RevealOutcome.NOT_RECIPIENT: "not_recipient",
           RevealOutcome.WRONG_TEAM: "other_workspace",
           RevealOutcome.UNAVAILABLE: "unavailable",
           RevealOutcome.TAMPERED: "tampered",
           RevealOutcome.WRONG_PASSPHRASE: "wrong_passphrase",
           RevealOutcome.LOCKED: "locked",
           RevealOutcome.GUESSES_PENDING: "locked",
           RevealOutcome.RATE_LIMITED: "rate_limited"}
_QUOTA_SCOPES = frozenset({"sender", "workspace"})
_QUOTA_LIMITS = frozenset({"secrets", "bytes"})
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,39}$")


@dataclass(frozen=True)
class SharedState:
    """Gauges read from Redis for one scrape (None: Redis did not answer)."""

    active_secrets: int | None
    outbox_lag_events: int | None
    outbox_lag_seconds: float | None
    # By scope ("sender", "workspace"): the highest use of any owner's storage caps.
    quota_use: Mapping[str, float] | None = None


class Metrics:
    """The bot's counters and histograms, and the /metrics page."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        self._dir = multiprocess_dir
        self.registry = CollectorRegistry()
        r = self.registry
        self.created = Counter("share_secret_secrets_created", "Secrets shared.", registry=r)
        self.revealed = Counter("share_secret_secrets_revealed",
                                "Views of secrets shown to a recipient.", registry=r)
        self.burned = Counter("share_secret_secrets_burned",
                              "Secrets destroyed by their last allowed view.", registry=r)
        self.denied = Counter("share_secret_reveals_denied",
                              "Reveal attempts refused, by reason.", ["reason"], registry=r)
        self.failed = Counter("share_secret_reveals_failed",
                              "Reveals that could not decrypt (the view was given back).",
                              registry=r)
        self.expired = Counter("share_secret_secrets_expired",
                               "Secrets that expired (counted once across replicas).",
                               registry=r)
        self.revoked = Counter("share_secret_secrets_revoked",
                               "Secrets revoked, by whom (sender or admin).", ["by"], registry=r)
        self.handler_seconds = Histogram(
            "share_secret_handler_seconds",
            "Time from receiving a Slack request to answering it, by kind.", ["kind"],
            buckets=LATENCY_BUCKETS, registry=r)
        self.requests = Counter("share_secret_slack_requests",
                                "Slack requests answered, by kind and outcome (ok or error).",
                                ["kind", "outcome"], registry=r)
        self.slack_errors = Counter(
            "share_secret_slack_api_errors",
            "Failed Slack Web API call attempts, by method and error (retries count each).",
            ["method", "error"], registry=r)
        self.quota_refusals = Counter(
            "share_secret_quota_refusals",
            "Shares refused because a storage cap was reached, by scope (sender or "
            "workspace) and limit (secrets or bytes).", ["scope", "limit"], registry=r)
        self.audit_recovered = Counter(
            "share_secret_audit_posts_in_doubt",
            "Audit posts whose outcome was unknown (a restart, a lost answer), by what the "
            "channel's history showed: found (not posted again), absent (posted), "
            "unverified (posted again, marked as a possible repeat).", ["outcome"],
            registry=r)

    # -- what happened ------------------------------------------------------------

    def count_event(self, event: AuditEvent) -> None:
        """Count an audit event (each is recorded once, by the process that did it)."""
        action = event.action
        if action is AuditAction.SECRET_CREATED:
            self.created.inc()
        elif action is AuditAction.SECRET_OPENED:
            self.revealed.inc()
        elif action is AuditAction.SECRET_BURNED:
            self.burned.inc()
        elif action is AuditAction.SECRET_EXPIRED:
            self.expired.inc()
        elif action is AuditAction.SECRET_REVOKED:
            self.revoked.labels("sender").inc()
        elif action is AuditAction.SECRET_REVOKED_ADMIN:
            self.revoked.labels("admin").inc()
        elif action is AuditAction.REVEAL_FAILED:
            self.failed.inc()

    def count_refusal(self, outcome: RevealOutcome) -> None:
        """Count a reveal attempt that was refused (other outcomes are not refusals)."""
        reason = _DENIED.get(outcome)
        if reason is not None:
            self.denied.labels(reason).inc()

    def quota_refused(self, scope: str, limit: str) -> None:
        """Count a share refused by a storage cap."""
        if scope in _QUOTA_SCOPES and limit in _QUOTA_LIMITS:
            self.quota_refusals.labels(scope, limit).inc()

    def observe_request(self, kind: str, seconds: float, *, ok: bool) -> None:
        kind = kind if kind in KINDS else "other"
        self.handler_seconds.labels(kind).observe(seconds)
        self.requests.labels(kind, "ok" if ok else "error").inc()

    def slack_error(self, method: str, error: str) -> None:
        self.slack_errors.labels(_bounded(method), _bounded(error)).inc()

    # -- the page -----------------------------------------------------------------

    def render(self, shared: SharedState) -> bytes:
        """The text exposition: this process's (or every worker's) metrics, then the
        gauges read from Redis for this scrape."""
        if self._dir is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self._dir)  # type: ignore[no-untyped-call]  # untyped upstream
            own = generate_latest(registry)
        else:
            own = generate_latest(self.registry)
        gauges = CollectorRegistry()
        gauges.register(_Shared(shared))
        return own + generate_latest(gauges)


class _Shared(Collector):
    def __init__(self, shared: SharedState) -> None:
        self._shared = shared

    def collect(self) -> Iterator[Metric]:
        s = self._shared
        yield GaugeMetricFamily("share_secret_redis_up",
                                "1 when Redis answered this scrape, else 0.",
                                value=0 if s.active_secrets is None else 1)
        for name, doc, value in [
            ("share_secret_secrets_active", "Secrets not yet burned, expired or revoked.",
             s.active_secrets),
            ("share_secret_audit_outbox_lag_events",
             "Audit events stored but not yet posted to the audit channel (capped).",
             s.outbox_lag_events),
            ("share_secret_audit_outbox_lag_seconds",
             "Age of the oldest audit event not yet posted (0 when none).",
             s.outbox_lag_seconds)]:
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)
        if s.quota_use is not None:
            use = GaugeMetricFamily(
                "share_secret_quota_use_ratio",
                "The highest use of a storage cap by any sender or workspace, as a fraction "
                "of the cap (the larger of active secrets and bytes; 1 means full).",
                labels=["scope"])
            for scope in sorted(s.quota_use):
                use.add_metric([scope], s.quota_use[scope])
            yield use


def _bounded(value: str) -> str:
    """A label value from Slack (a method or error code), or "other" if it looks odd."""
    return value if _LABEL.fullmatch(value) else "other"
