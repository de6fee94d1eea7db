"""From raw load records and the stand-in's call log to figures: rates, percentiles, e2e."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

_PROMPT = re.compile(r"^<@([UW][A-Z0-9]+)> shared a secret with you")
# The sender's DM when someone with the link opens their secret (bot.render.external).
WEB_RECEIPT = ":eyes: Someone with the link opened "


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), nearest-rank; None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def summarize_acks(load: dict[str, Any]) -> dict[str, Any]:
    """Throughput and time-to-acknowledge of one closed-loop run."""
    records = load["records"]
    ok = [r for r in records if r[3] in (200, 201)]  # 201: a create that stored its secret
    acks = [r[2] for r in records]
    return {
        "requests": len(records), "ok": len(ok), "errors": load["errors"],
        "exhausted": load["exhausted"], "window_s": round(load["window"], 3),
        "throughput": round(len(ok) / load["window"], 1),
        "ack_p50_ms": ms(percentile(acks, 50)), "ack_p95_ms": ms(percentile(acks, 95)),
        "ack_p99_ms": ms(percentile(acks, 99)), "ack_max_ms": ms(max(acks) if acks else None),
    }


def end_to_end_views(load: dict[str, Any], calls: list[list[Any]], *,
                     title: str | None) -> dict[str, Any]:
    """Click (or command) until the stand-in answered the views.open with its trigger_id,
    when that opened the modal titled `title` (the secret, or the share form).

    Also: how many acknowledged requests never got their modal, how many got it late
    (> 1 s, or past the 3 s trigger life, which the stand-in refuses), and whether a
    backlog grew (e2e p50 of the first fifth of the run against the last fifth).
    """
    opened: dict[str, tuple[float, bool, str | None]] = {}
    for method, at, ok, error, trigger, _, _, shown in calls:
        if method == "views.open" and trigger and trigger not in opened:
            if ok and title is not None and shown.split(" | ")[0] != title:
                # A notice ("no longer available", "store unavailable") instead of the
                # modal the request was for.
                ok, error = False, f"opened {shown!r}"
            opened[trigger] = (at, ok, error)
    acked = [r for r in load["records"] if r[3] == 200]
    latencies, missing, refused = [], 0, {}
    timeline = []
    for key, wall, _, _ in acked:
        found = opened.get(key)
        if found is None:
            missing += 1
            continue
        at, ok, error = found
        if not ok:
            refused[error or "?"] = refused.get(error or "?", 0) + 1
            continue
        latencies.append(at - wall)
        timeline.append((wall, at - wall))
    return _e2e_figures(latencies, timeline, acked=len(acked), missing=missing,
                        refused=refused)


def end_to_end_prompts(load: dict[str, Any], calls: list[list[Any]]) -> dict[str, Any]:
    """Share submitted until both recipients' Reveal messages reached the stand-in."""
    prompts: dict[str, list[float]] = {}
    for method, at, ok, _, _, _, _, text in calls:
        if ok and method in ("chat.postEphemeral", "chat.postMessage"):
            match = _PROMPT.match(text or "")
            if match:
                prompts.setdefault(match.group(1), []).append(at)
    acked = [r for r in load["records"] if r[3] == 200]
    latencies, missing, timeline = [], 0, []
    for key, wall, _, _ in acked:
        times = prompts.get(key, [])
        if len(times) < 2:
            missing += 1
            continue
        latencies.append(max(times[:2]) - wall)
        timeline.append((wall, latencies[-1]))
    return _e2e_figures(latencies, timeline, acked=len(acked), missing=missing, refused={})


def _e2e_figures(latencies: list[float], timeline: list[tuple[float, float]], *, acked: int,
                 missing: int, refused: dict[str, int]) -> dict[str, Any]:
    timeline.sort()
    fifth = max(1, len(timeline) // 5)
    first = [lat for _, lat in timeline[:fifth]]
    last = [lat for _, lat in timeline[-fifth:]]
    return {
        "acked": acked, "delivered": len(latencies), "missing": missing, "refused": refused,
        "within_1s": sum(1 for x in latencies if x <= 1.0),
        "e2e_p50_ms": ms(percentile(latencies, 50)), "e2e_p95_ms": ms(percentile(latencies, 95)),
        "e2e_p99_ms": ms(percentile(latencies, 99)),
        "e2e_max_ms": ms(max(latencies) if latencies else None),
        "e2e_first_fifth_p50_ms": ms(percentile(first, 50)),
        "e2e_last_fifth_p50_ms": ms(percentile(last, 50)),
    }


def web_receipts(calls: list[list[Any]]) -> int:
    """How many senders were told, by DM, that someone with the link opened a secret."""
    return sum(1 for method, _, ok, _, _, _, _, text in calls
               if ok and method == "chat.postMessage" and (text or "").startswith(WEB_RECEIPT))


def outcome_counts(calls: list[list[Any]], busy_text: str) -> dict[str, int]:
    """What an overloaded bot did: modals opened or refused, busy notices, other posts."""
    counts: dict[str, int] = {}
    for method, _, ok, error, _, _, _, text in calls:
        if method == "views.open":
            name = "views.open ok" if ok else f"views.open {error}"
        elif method == "response_url":
            name = "busy notice" if (text or "").startswith(busy_text[:30]) else \
                f"response_url {'ok' if ok else error}"
        else:
            name = f"{method} {'ok' if ok else error}"
        counts[name] = counts.get(name, 0) + 1
    return counts
