"""Closed-loop HTTP runs against one server, with CPU accounting and end-to-end matching."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from benchmarks import profiling, stats
from benchmarks.procs import RedisServer, Server, StandIn, run_load


@dataclass
class Timing:
    warmup: float
    duration: float


def run(*, server: Server, slack: StandIn, redis: RedisServer, timing: Timing, kind: str,
        concurrency: int, template: str = "", items: list[Any] | None = None,
        signing_secret: str = "", mint: bool = False, e2e: str | None = None,
        title: str | None = None, profile_to: Path | None = None,
        extra: dict[str, Any] | None = None, settle_timeout: float = 30.0) -> dict[str, Any]:
    """One run: load for warmup + duration, wait for the bot's calls to settle, summarize.

    `e2e` is "views" (match views.open by trigger_id), "prompts" (match Reveal
    messages by sender), "receipts" (count the senders' receipts, sent after the
    answers) or None. CPU seconds per process are read around the run.
    """
    from benchmarks.standin_proc import GENERAL

    slack.control("clear")
    spec = {"host": "127.0.0.1", "port": server.port, "kind": kind,
            "concurrency": concurrency, "warmup": timing.warmup, "duration": timing.duration,
            "template": template, "items": items or [], "signing_secret": signing_secret,
            "channel": GENERAL, "mint_url": slack.root_url if mint else None, **(extra or {})}
    cpu0 = {"server": server.cpu_seconds(), "stand-in": slack.cpu_seconds(),
            "redis": redis.cpu_seconds()}
    busy0 = _machine_busy()
    t0 = time.monotonic()
    spy = profiling.start(server.pid, profile_to, timing.warmup + timing.duration) \
        if profile_to else None
    load = run_load(spec)
    load_end = time.monotonic()
    busy1 = _machine_busy()
    settled = slack.settle(timeout=settle_timeout) if e2e or mint else 0.0
    cpu1 = {"server": server.cpu_seconds(), "stand-in": slack.cpu_seconds(),
            "redis": redis.cpu_seconds()}
    result: dict[str, Any] = {"server": server.name, "kind": kind, "concurrency": concurrency,
                              **stats.summarize_acks(load)}
    # CPU per request over the whole run, warm-up included (and, for the bot, the
    # Slack calls it makes after the run's last answer).
    total_requests = max(1, load["sent_total"])
    result["cpu_ms_per_request"] = {
        **{k: round((cpu1[k] - cpu0[k]) * 1000 / total_requests, 3) for k in cpu0},
        "load generator": round(load["cpu_seconds"] * 1000 / total_requests, 3)}
    result["cpu_busy"] = {k: round((cpu1[k] - cpu0[k]) / max(1e-9, load_end - t0), 2)
                          for k in cpu0}
    ours = sum(cpu1[k] - cpu0[k] for k in cpu0) + load["cpu_seconds"]
    # CPU the machine spent on processes outside this benchmark (a concurrent test run,
    # say), in cores: a row with much of it is noisy.
    result["foreign_cpu_cores"] = round(max(0.0, (busy1 - busy0 - ours))
                                        / max(1e-9, load_end - t0), 2)
    result["settle_s"] = round(settled, 2)
    if spy is not None and profile_to is not None:
        spy.wait(60)
        result["profile"] = {"raw": str(profile_to), **profiling.summarize(profile_to)}
    if e2e:
        calls = slack.control("calls")["calls"]
        last_click = max((r[1] for r in load["records"]), default=0.0)
        relevant = [c for c in calls if c[0] in ("views.open", "chat.postEphemeral",
                                                 "chat.postMessage")]
        result["drain_after_last_request_ms"] = round(
            (max((c[1] for c in relevant), default=last_click) - last_click) * 1000, 1)
        if e2e == "views":
            result.update(stats.end_to_end_views(load, calls, title=title))
        elif e2e == "receipts":
            # Over the whole run, warm-up included: against every request sent.
            result["receipts"] = stats.web_receipts(calls)
            result["requests_total"] = load["sent_total"]
        else:
            result.update(stats.end_to_end_prompts(load, calls))
        result["slack_calls"] = len(calls)
        result["slack_calls_per_request"] = round(len(calls) / total_requests, 2)
    return result


def _machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy (all cores, not idle or iowait)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)
