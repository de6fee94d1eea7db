"""One soak run: start Redis, the stand-in and the bot, load them while the chaos plan
runs, let the bot settle, gather the evidence and check the invariants."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from bot.crypto import generate_key_entry
from bot.storage import KeySpace
from bot.storage.keys import AuditKeys
from devtools.harness.bot_process import BotProcess
from devtools.harness.redis_server import PersistentRedis
from devtools.harness.slack_client import SlackSim
from devtools.slack_stand_in import DEFAULT_SCOPES, SlackStandIn
from scripts.soak.actors import Actors, People
from scripts.soak.chaos import Chaos, Plan
from scripts.soak.evidence import PREFIX, audit_posts, gather
from scripts.soak.invariants import Invariant, check
from scripts.soak.ledger import Ledger
from scripts.soak.observer import Observer

TEAM, CHANNEL, AUDIT = "T0SOAK", "C0SOAKGEN", "C0SOAKAUDIT"
PEOPLE = People(channel=CHANNEL, members=[f"U0SOAK{n}" for n in range(1, 7)],
                outsiders=["U0SOAK7", "U0SOAK8"], admin="U0SOAKADMIN")
# How often each operation is picked (out of the sum).
MIX = {"share": 28, "reveal": 34, "wrong_user": 7, "revoke": 5, "list": 7, "home": 10,
       "admin": 5, "non_admin": 2}


@dataclass
class Result:
    seconds: float
    clients: int
    ledger: Ledger
    invariants: list[Invariant]
    chaos_failures: list[str]
    settled: dict[str, float | int | bool]

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.invariants) and not self.chaos_failures


def soak(*, seconds: float, clients: int, plan: Plan, seed: int | None = None,
         think: float = 0.05, failed_log: Path | None = None) -> Result:
    """Run it; when an invariant fails, the bot's log is copied to `failed_log`."""
    rng = random.Random(seed)
    keys = generate_key_entry("soak")
    signing_secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="share-secret-soak-") as tmp:
        workdir = Path(tmp)
        store = PersistentRedis(workdir / "redis").start()
        # channels:history: the audit channel is public, and the bot may read it to post
        # each audit batch exactly once across its kill (docs/audit-log.md, "Exactly
        # once across a crash").
        slack = SlackStandIn(bot_token="xoxb-soak-" + secrets.token_hex(8), team_id=TEAM,
                             team_domain="soak",
                             scopes=(*DEFAULT_SCOPES, "channels:history")).start()
        _populate(slack)
        bot = BotProcess({
            "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_API_URL": slack.base_url, "REDIS_URL": store.url, "ENCRYPTION_KEYS": keys,
            "AUDIT_CHANNEL_ID": AUDIT, "ADMIN_USER_IDS": PEOPLE.admin,
            # DEBUG on purpose: the leak check must hold at the chattiest level.
            "LOG_LEVEL": "DEBUG", "SWEEP_INTERVAL_SECONDS": "5",
            # What the killed bot left unfinished (views, deliveries, a creation not yet
            # audited) is taken over within the soak's settling, not two minutes later.
            "CLAIM_TIMEOUT_SECONDS": "10",
            "AUDIT_POST_INTERVAL_SECONDS": "0.2",
            # A dozen simulated people act far faster than people do: limits this high
            # keep the limiter's Redis step in every share and reveal (under the same
            # faults) without refusing anyone (refusals: tests/e2e/test_e2e_rate_limits.py).
            "SHARE_LIMIT": "100000/600", "REVEAL_ATTEMPT_LIMIT": "100000/600",
            # Likewise the storage quotas: no cap, but every share and ending still keeps
            # the account (refusals: tests/e2e/test_e2e_quota.py).
            "QUOTA_SENDER_SECRETS": "0", "QUOTA_SENDER_BYTES": "0",
            "QUOTA_WORKSPACE_SECRETS": "0", "QUOTA_WORKSPACE_BYTES": "0",
            # And refusals: each still counted in Redis, none merged, so that the audit
            # invariant can hold every refusal to one event (merging, and a merged
            # window's summary surviving a killed process: tests/unit/test_audit_refusals.py).
            "REFUSAL_AUDIT_LIMIT": "100000/60"},
            workdir=workdir).start()
        observer = Observer(slack).start()
        ledger = Ledger()
        sim = SlackSim(bot=bot, slack=slack, signing_secret=signing_secret)
        chaos = Chaos(plan, seconds=seconds, redis=store, bot=bot, slack=slack, ledger=ledger,
                      rng=random.Random(rng.random()))
        try:
            started = time.monotonic()
            deadline = started + seconds
            chaos.start()
            threads = [threading.Thread(target=_client, name=f"client-{n}", args=(
                Actors(sim, observer, ledger, PEOPLE, short_expiry=seconds >= 400,
                       rng=random.Random(rng.random())), deadline, think)) for n in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            chaos.join()
            elapsed = time.monotonic() - started
            slack.clear_faults()
            settled = _settle(store.url, slack, bot)
            # The bot is frozen while the evidence is read: its sweeps go on after the
            # settling (secrets keep falling due), and a secret it expired between reading
            # the audit stream and reading the secrets would look like a lost event.
            with _frozen(bot):
                evidence = gather(ledger=ledger, redis_url=store.url, keys=keys, team_id=TEAM,
                                  slack=slack, audit_channel=AUDIT, bot_log=bot.log_text(),
                                  redis_dir=store.datadir)
            result = Result(elapsed, clients, ledger, check(ledger, evidence), chaos.failures,
                            settled)
        finally:
            observer.stop()
            bot.stop()
            slack.stop()
            store.stop()
        if not result.ok and failed_log is not None:
            failed_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bot.log_path, failed_log)
    return result


def _populate(slack: SlackStandIn) -> None:
    for user in [*PEOPLE.everyone, PEOPLE.admin]:
        slack.add_user(user, user.lower())
    slack.add_channel(CHANNEL, "general", members=[*PEOPLE.members, PEOPLE.admin])
    slack.add_channel(AUDIT, "share-secret-audit", members=[PEOPLE.admin])


def _client(actors: Actors, deadline: float, think: float) -> None:
    """One client: picks an operation and a person, does it, pauses, until the deadline."""
    rng, people = actors.rng, actors.people
    kinds, weights = list(MIX), list(MIX.values())
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        person = rng.choice(people.everyone)
        if kind == "share":
            actors.share(person)
        elif kind in ("reveal", "wrong_user"):
            actors.reveal(person, wrong_user=kind == "wrong_user")
        elif kind == "revoke":
            actors.revoke(person)
        elif kind == "list":
            actors.list_secrets(person)
        elif kind == "home":
            actors.open_home(rng.choice([person, people.admin]))
        else:
            actors.admin(people.admin if kind == "admin" else person)
        time.sleep(rng.uniform(0, 2 * think))


def _owing(client: redis.Redis) -> int:
    """Secrets with audit events still owed (bot.storage.owed): a killed process's, which
    the sweep records once they are older than the claim timeout."""
    keys = KeySpace(PREFIX)
    return sum(int(client.exists(keys.owed(m.decode())))
               for m in client.zrange(keys.owed_index(), 0, -1))


@contextlib.contextmanager
def _frozen(bot: BotProcess) -> Iterator[None]:
    """SIGSTOP the bot's process group for the duration, then SIGCONT."""
    running = bot.returncode is None
    if running:
        os.killpg(bot.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        if running:
            os.killpg(bot.pid, signal.SIGCONT)


def _settle(redis_url: str, slack: SlackStandIn, bot: BotProcess,
            timeout: float = 90.0) -> dict[str, float | int | bool]:
    """Wait for the bot to finish what it started: the bot answering, nothing a killed
    process left for the sweep (views claimed, deliveries owed), every audit event
    posted, no Slack call for a while. Returns what it waited for."""
    started = time.monotonic()
    client = redis.Redis.from_url(redis_url)
    stream = AuditKeys(PREFIX).stream
    posted = recorded = 0
    quiet_since, calls = time.monotonic(), len(slack.calls)
    try:
        while time.monotonic() - started < timeout:
            recorded = int(client.xlen(stream))
            unfinished = int(client.zcard(f"{PREFIX}:claims")) + \
                int(client.zcard(f"{PREFIX}:undelivered")) + _owing(client)
            posted = len(audit_posts(slack.calls, AUDIT))
            if len(slack.calls) != calls:
                quiet_since, calls = time.monotonic(), len(slack.calls)
            if posted >= recorded and not unfinished and \
                    time.monotonic() - quiet_since > 2.0:
                break
            time.sleep(0.5)
    finally:
        client.close()
    return {"seconds": round(time.monotonic() - started, 1), "audit_recorded": recorded,
            "audit_posted": posted, "bot_running": bot.returncode is None}
