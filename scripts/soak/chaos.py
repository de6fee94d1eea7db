"""The faults the soak injects, on a timeline: Redis restarts (with its data kept on
disk), bursts of 429s and errors from the Slack stand-in, a SIGKILL of the bot."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from devtools.harness.bot_process import BotProcess
from devtools.harness.redis_server import PersistentRedis
from devtools.slack_stand_in import SlackStandIn
from scripts.soak.ledger import Ledger

# Methods the bot calls while people use it (response_url: its answers to clicks).
FAULTY = ["chat.postMessage", "chat.postEphemeral", "conversations.open", "views.open",
          "views.update", "views.publish", "users.info", "response_url"]
REDIS_DOWN_SECONDS = 3.0


@dataclass(frozen=True)
class Plan:
    """When each fault happens, as fractions of the run."""

    redis_restarts: tuple[float, ...]
    bot_kills: tuple[float, ...]
    bursts: tuple[float, ...]

    @classmethod
    def full(cls) -> Plan:
        """Two Redis restarts (the second a SIGKILL), a bot kill, a burst every ~8%."""
        return cls(redis_restarts=(0.25, 0.6), bot_kills=(0.45,),
                   bursts=tuple(round(0.05 + 0.08 * i, 2) for i in range(12)))

    @classmethod
    def short(cls) -> Plan:
        return cls(redis_restarts=(0.3,), bot_kills=(0.6,), bursts=(0.15, 0.45, 0.8))


class Chaos:
    """Runs the plan on a thread of its own over `seconds`."""

    def __init__(self, plan: Plan, *, seconds: float, redis: PersistentRedis, bot: BotProcess,
                 slack: SlackStandIn, ledger: Ledger, rng: random.Random) -> None:
        self._seconds, self._redis, self._bot = seconds, redis, bot
        self._slack, self._ledger, self._rng = slack, ledger, rng
        steps: list[tuple[float, Callable[[], None]]] = []
        for n, at in enumerate(plan.redis_restarts):
            steps.append((at, lambda hard=n % 2 == 1: self.restart_redis(hard=hard)))
        steps += [(at, self.kill_bot) for at in plan.bot_kills]
        steps += [(at, self.burst) for at in plan.bursts]
        self._steps = sorted(steps, key=lambda step: step[0])
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)
        self._workers: list[threading.Thread] = []
        self._faults = threading.Lock()  # one burst at a time: clearing clears them all
        self.failures: list[str] = []

    def start(self) -> Chaos:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def join(self) -> None:
        """Wait for every step to have run (steps overlap: each has a thread)."""
        self._thread.join()
        for worker in self._workers:
            worker.join()

    def _run(self) -> None:
        for at, step in self._steps:
            delay = self._started + at * self._seconds - time.monotonic()
            time.sleep(max(0.0, delay))
            worker = threading.Thread(target=self._guarded, args=(step,), daemon=True)
            self._workers.append(worker)
            worker.start()

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - reported; the soak must end cleanly
            self.failures.append(f"{getattr(step, '__name__', step)}: "
                                 f"{type(exc).__name__}: {exc}")

    def _note(self, what: str) -> None:
        self._ledger.note(time.time(), what)

    def restart_redis(self, *, hard: bool) -> None:
        self._note(f"Redis {'killed (SIGKILL)' if hard else 'stopped (SIGTERM)'}")
        self._redis.kill() if hard else self._redis.stop()
        time.sleep(REDIS_DOWN_SECONDS)
        self._redis.start()
        self._note("Redis started again (same port and data directory)")

    def kill_bot(self) -> None:
        self._note("bot killed (SIGKILL)")
        self._bot.kill()
        time.sleep(1.0)
        self._bot.start()
        self._note("bot started again")

    def burst(self) -> None:
        with self._faults:
            self._burst()

    def _burst(self) -> None:
        methods = self._rng.sample(FAULTY, 3)
        seconds = self._rng.uniform(3.0, 6.0)
        rate_limited = self._rng.random() < 0.5
        for method in methods:
            if rate_limited:
                self._slack.rate_limit(method, retry_after=self._rng.choice([1, 2]), times=None)
            else:
                status = self._rng.choice([None, 503])
                error = "internal_error" if status is None else "service_unavailable"
                self._slack.fail(method, error=error, status=status, times=None)
        kind = "429 with Retry-After" if rate_limited else "errors"
        self._note(f"Slack answers {kind} on {', '.join(methods)} for {seconds:.1f} s")
        time.sleep(seconds)
        self._slack.clear_faults()
        self._note("Slack faults cleared")
