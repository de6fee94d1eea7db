"""Scenarios that run in-process against a throwaway Redis, through the bot's own code.

- `seed_secrets`: secrets for the reveal runs, made by the bot's SharingService.
- `seed_link_secrets`: link secrets for the web page's reveal runs, made the same way.
- `memory_per_secret`: Redis bytes per active secret (scenario 4).
- `sweep_cost`: the expiry sweep's time against expired and stored counts (scenario 5).
- `storage_floor`: raw GET/SET/GETDEL round trips with the bot's Redis client.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis

from benchmarks.payloads import SECRET_100
from benchmarks.stats import ms, percentile
from bot.crypto import StaticKeyRing, parse_keys
from bot.domain import SecretRecord, ShareForm
from bot.storage import KeySpace, RedisSecretStore
from bot.storage.audit_stream import AuditStream
from bot.storage.owed import OwedEvents
from bot.storage.quota import Caps, RedisQuota

try:  # the bot's services, through the facades that stay put when modules inside move
    from bot.audit import DurableAuditLog, secret_created
    from bot.secrets import SharingService
except ImportError:  # pragma: no cover - a bot committed before the facades
    from benchmarks.older_bot import DurableAuditLog, SharingService, secret_created
try:  # where Expiry lives moved (bot.domain, later bot.options)
    from bot.options import Expiry  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older bot
    from bot.domain import Expiry  # type: ignore[attr-defined,no-redef]

RETENTION_SECONDS = 90 * 86400  # the bot's default METADATA_RETENTION_DAYS
PREFIX = "ss"  # the bot's default REDIS_KEY_PREFIX
SWEEP_METHOD = "sweep_expired"  # bot.secrets.LifecycleService.sweep_expired
# redis-py's asyncio pool holds 100 connections by default and raises (rather than
# waits) past that; the seeding below runs up to 256 operations at once.
POOL = 512


class Everyone:
    """A PeopleDirectory for which every id is a person (no users.info calls)."""

    async def not_people(self, user_ids: tuple[str, ...]) -> Mapping[str, str]:
        return {}


def _store(client: aioredis.Redis, keys: str, prefix: str = PREFIX) -> RedisSecretStore:
    # Storage quotas as the bot keeps them: no cap, but every secret is in its sender's and
    # its workspace's account, which costs memory per secret too.
    space = KeySpace(prefix)
    return RedisSecretStore(client, keys=space, keyring=StaticKeyRing(parse_keys(keys)),
                            metadata_retention_seconds=RETENTION_SECONDS,
                            quota=RedisQuota(client, keys=space, caps=Caps()))


def _service(store: RedisSecretStore, keys: str,
             clock: Callable[[], float] = time.time) -> SharingService:
    return SharingService(store=store, keyring=StaticKeyRing(parse_keys(keys)), clock=clock)


def _sharer(client: aioredis.Redis, keys: str) -> Callable[[ShareForm], Awaitable[SecretRecord]]:
    """Share as the bot does, start to finish: store the secret through its service, then
    settle it as its share handler does (`_settler`)."""
    store = _store(client, keys)
    service = _service(store, keys)
    settle = _settler(client, store)

    async def share(form: ShareForm) -> SecretRecord:
        record = await service.share(form, people=Everyone())
        await settle(record)
        return record
    return share


def _settler(client: aioredis.Redis,
             store: RedisSecretStore) -> Callable[[SecretRecord], Awaitable[None]]:
    """What the bot's share handler does once a secret is stored and its Reveal messages
    (or, for people outside Slack, the sender's receipt) are out: record the
    secret_created event the share owes, and settle the delivery. (A secret left owing
    both looks like the work of a process that died: the bot's sweep takes it over two
    minutes later and sends its messages again, in the middle of a run.)"""
    stream = AuditStream(client, prefix=PREFIX, retention_seconds=RETENTION_SECONDS)
    audit = DurableAuditLog(stream, logger=logging.getLogger("benchmarks.seed"),
                            owed=OwedEvents(client, keys=KeySpace(PREFIX)))

    async def settle(record: SecretRecord) -> None:
        created = secret_created(record)
        await audit.record(created.event, nonce=created.nonce)
        await store.delivered(record.secret_id)
    return settle


async def _bounded(count: int, make: Callable[[int], Awaitable[Any]],
                   concurrency: int = 128, *, keep: bool = True) -> list[Any]:
    """Run make(0..count-1), `concurrency` at a time; their results if `keep`.

    The cyclic GC is paused meanwhile: with a million records made, its full passes
    otherwise slow the filling down many times over.
    """
    results: list[Any] = [None] * count if keep else []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            result = await make(i)
            if keep:
                results[i] = result

    gc.disable()
    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    finally:
        gc.enable()
        gc.collect()
    return results


def _form(team_id: str, sender: str, recipients: tuple[str, ...], channel: str | None,
          expiry: Expiry = Expiry.ONE_DAY) -> ShareForm:
    return ShareForm(team_id=team_id, sender_id=sender, recipients=recipients,
                     text=SECRET_100, expiry_seconds=str(expiry.value), origin_channel=channel)


async def seed_secrets(redis_url: str, keys: str, *, count: int, team_id: str, channel: str,
                       tag: str, senders: Sequence[str]) -> list[list[str]]:
    """`count` secrets with two recipients each, stored by the bot's own service;
    return the clicks [secret_id, recipient] (two per secret, every recipient distinct).

    Senders take turns from `senders`, people the stand-in knows: each reveal DMs its
    sender a receipt, which a sender Slack does not know would skip (user_not_found).
    """
    client = aioredis.from_url(redis_url, max_connections=POOL)
    share = _sharer(client, keys)

    async def one(i: int) -> list[list[str]]:
        # Slack user ids are upper case (the bot refuses other shapes as malformed).
        recipients = (f"U{tag.upper()}A{i:07d}", f"U{tag.upper()}B{i:07d}")
        record = await share(_form(team_id, senders[i % len(senders)], recipients, channel))
        return [[record.secret_id, r] for r in recipients]

    pairs = await _bounded(count, one)
    await client.aclose()
    clicks = [c for pair in pairs for c in pair]
    # Both recipients of a secret click, but not one right after the other.
    half = len(clicks) // 2
    return clicks[0::2] + clicks[1::2] if half else clicks


async def seed_link_secrets(redis_url: str, keys: str, *, count: int, team_id: str,
                            senders: Sequence[str], receipts: bool = True) -> list[list[str]]:
    """`count` secrets for anyone with the link, stored as the share form stores them (the
    service's `share_external` under the default policy, each under a fresh link key inside
    the key ring's layer; then audited and settled); return [secret id, link key]s, the
    key as the link carries it after '#'.

    Senders take turns from `senders`, people the stand-in knows (with `receipts`, each
    reveal DMs its sender a receipt; without, the sender asked for none).
    """
    from bot.domain import Audience
    from bot.secrets.external import ExternalPolicy, encode_link_key

    client = aioredis.from_url(redis_url, max_connections=POOL)
    store = _store(client, keys)
    service = _service(store, keys)
    settle = _settler(client, store)
    policy = ExternalPolicy()

    async def one(i: int) -> list[str]:
        form = replace(_form(team_id, senders[i % len(senders)], (), None),
                       audience=Audience.LINK, notify=receipts)
        share = await service.share_external(form, policy=policy)
        await settle(share.record)
        return [share.record.secret_id, encode_link_key(share.link_key)]

    links = await _bounded(count, one)
    await client.aclose()
    return links


async def api_token(redis_url: str, keys: str, *, team_id: str) -> str:
    """A new API token of `team_id`'s, as `python -m bot api-tokens create` makes one."""
    from bot.api.tokens import ApiTokens

    client = aioredis.from_url(redis_url)
    try:
        tokens = ApiTokens(client, keys=KeySpace(PREFIX),
                           keyring=StaticKeyRing(parse_keys(keys)))
        _, bearer = await tokens.create(team_id=team_id, name=f"bench-{time.time_ns()}",
                                        created_by="cli")
        return bearer
    finally:
        await client.aclose()


async def memory_per_secret(redis_url: str, keys: str, *, count: int) -> dict[str, Any]:
    """Redis memory per active secret (100-byte secret, 2 recipients), every key included.

    `used_memory` before and after sharing `count` secrets as the bot does on an otherwise
    empty server, divided by `count` (that includes Redis's own per-key overhead: dict
    entries, the expires table). Measured in the steady state a live secret is in: after
    the bot's sweep has let the owed-events index forget the settled shares (it does so
    once they are older than the claim timeout). `MEMORY USAGE` of each key gives the
    per-key breakdown. The audit log's share (each secret's `secret_created` entry and its
    retry mark) is reported apart: the log is kept for AUDIT_RETENTION_DAYS whether the
    secret is still active or not, so it grows with events over time, not with active
    secrets.
    """
    before = await _used_memory(redis_url, flush=True)
    client = aioredis.from_url(redis_url, max_connections=POOL)
    share = _sharer(client, keys)

    async def one(i: int) -> str:
        record = await share(
            _form("T0MEM", f"U0S{i % 1000:04d}", (f"U0M{i:07d}A", f"U0M{i:07d}B"), "C0GENERAL"))
        return record.secret_id

    t0 = time.perf_counter()
    await _bounded(count, one)
    created_s = time.perf_counter() - t0
    owed = OwedEvents(client, keys=KeySpace(PREFIX))
    while await owed.forget_settled(cutoff=time.time() + 1, limit=10_000):
        pass  # the sweep's pass over the owed index, as it runs once the claim timeout is past
    await client.aclose()  # the pool's connections and their buffers are not the data
    await asyncio.sleep(0.3)  # let the server notice the closed connections
    after = await _used_memory(redis_url)
    client = aioredis.from_url(redis_url)
    info = await client.info("memory")
    keyspace = await client.dbsize()
    by_kind = await _usage_by_kind(client)
    # The audit log's true share, keys' own overhead (dict and expiry entries) included,
    # which MEMORY USAGE leaves out: what deleting every audit key gives back.
    audit_keys = [key async for key in client.scan_iter(match="*{audit}*", count=2000)]
    for start in range(0, len(audit_keys), 2000):
        await client.delete(*audit_keys[start:start + 2000])
    await client.aclose()
    await asyncio.sleep(0.3)
    without_audit = await _used_memory(redis_url)
    client = aioredis.from_url(redis_url)
    await client.flushall()
    await client.aclose()
    audit = after - without_audit
    return {
        "secrets": count, "keys": keyspace, "keys_per_secret": round(keyspace / count, 2),
        "used_memory_delta_bytes": after - before,
        "bytes_per_secret_with_audit": round((after - before) / count, 1),
        "audit_bytes_per_secret": round(audit / count, 1),
        "bytes_per_secret": round((without_audit - before) / count, 1),
        # MEMORY USAGE of every key, summed by kind and divided by the number of secrets
        # (shared indexes included): where the bytes of one secret go.
        "memory_usage_per_secret": {k: round(v / count, 1) for k, v in by_kind.items()},
        "create_rate_per_s": round(count / created_s),
        "mem_allocator": info.get("mem_allocator"),
    }


async def _used_memory(redis_url: str, *, flush: bool = False) -> int:
    """used_memory as seen from one fresh connection (so client buffers stay out)."""
    client = aioredis.from_url(redis_url)
    if flush:
        await client.flushall()
    used = int((await client.info("memory"))["used_memory"])
    await client.aclose()
    return used


def _kind(key: str) -> str:
    """What a key is, from its name (see bot/storage/keys.py)."""
    suffix = key.rsplit(":", 1)[-1]
    if ":{audit}:n:" in key:
        return "audit retry marks"
    if ":{audit}:" in key:
        for index in ("team", "actor", "code"):
            if f":{{audit}}:{index}:" in key:
                return f"audit index by {index}"
        return f"audit {suffix}"
    if "}:" in key:
        return {"c": "ciphertext", "m": "metadata"}.get(suffix, f"per-secret :{suffix}")
    if ":code:" in key:
        return "code index"
    if ":sent:" in key:
        return "by-sender index"
    return key.split(":", 1)[-1]  # expiries, reminders, ...


async def _usage_by_kind(client: aioredis.Redis) -> dict[str, int]:
    totals: dict[str, int] = {}
    batch: list[bytes] = []

    async def flush() -> None:
        async with client.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.memory_usage(key, samples=0)
            usages = await pipe.execute()
        for key, usage in zip(batch, usages, strict=True):
            kind = _kind(key.decode())
            totals[kind] = totals.get(kind, 0) + int(usage or 0)
        batch.clear()

    async for key in client.scan_iter(count=2000):
        batch.append(key)
        if len(batch) >= 2000:
            await flush()
    if batch:
        await flush()
    return totals


async def sweep_cost(redis_url: str, keys: str, *, stored: int, small: int, large: int,
                     team_id: str = "T0SWEEP") -> dict[str, Any]:
    """Time the expiry sweep for `small` and `large` expired secrets among `stored` active.

    The sweep is `bot.secrets.LifecycleService.sweep_expired(limit=...)`, called until it
    returns nothing, as `bot.secrets.expiry.Sweeper.run_once` does (without the Slack
    notices it then sends). When the bot has no such sweep, says so instead of guessing.
    """
    try:
        from bot.secrets import LifecycleService
    except ImportError:  # pragma: no cover - a bot committed before the facades
        from benchmarks.older_bot import LifecycleService
    if LifecycleService is None:
        return {"available": False,
                "reason": "not available yet: the bot has no "
                          f"bot.secrets.LifecycleService.{SWEEP_METHOD}() (the "
                          "expiry sweep is another issue)"}
    params = inspect.signature(LifecycleService.sweep_expired).parameters
    client = aioredis.from_url(redis_url, max_connections=POOL)
    await client.flushall()
    store = _store(client, keys)
    lifecycle = LifecycleService(store=store)
    people = Everyone()
    now = time.time()
    live = _service(store, keys)
    # Secrets that expired a minute ago: made by a clock set back past their lifetime,
    # so their Redis TTLs are still running and only the expiry index says "expired".
    stale = _service(store, keys, clock=lambda: now - Expiry.ONE_HOUR.value - 60)

    async def add(service: SharingService, count: int, tag: str) -> None:
        expiry = Expiry.ONE_HOUR if service is stale else Expiry.SEVEN_DAYS
        await _bounded(count, lambda i: service.share(
            _form(team_id, "U0SENDER", (f"U{tag}{i:07d}A", f"U{tag}{i:07d}B"), None, expiry),
            people=people), concurrency=256, keep=False)

    async def sweep() -> tuple[float, int]:
        kwargs: dict[str, Any] = {"now": time.time()} if "now" in params else {}
        t0 = time.perf_counter()
        total = 0
        while True:
            done = await getattr(lifecycle, SWEEP_METHOD)(**kwargs)
            count = done if isinstance(done, int) else len(done)
            total += count
            if not count:
                break
        return time.perf_counter() - t0, total

    result: dict[str, Any] = {"available": True, "stored": stored}
    baseline = min(stored, max(10 * large, 100_000))
    t0 = time.perf_counter()
    await add(live, baseline, "L")
    await add(stale, small, "E1")
    result["small_among_baseline_s"], result["small_swept"] = await sweep()
    result["baseline_stored"] = baseline
    await add(live, stored - baseline, "M")
    result["populate_s"] = round(time.perf_counter() - t0, 1)
    await add(stale, small, "E2")
    result["small_s"], swept_small = await sweep()
    await add(stale, large, "E3")
    result["large_s"], swept_large = await sweep()
    result.update(small=small, large=large, small_swept_at_full=swept_small,
                  large_swept=swept_large, ratio=round(result["large_s"] / result["small_s"], 2)
                  if result["small_s"] else None)
    # In the background: freeing over a million keys takes longer than a read timeout.
    await client.flushall(asynchronous=True)
    await client.aclose()
    return result


async def storage_floor(redis_url: str, *, levels: tuple[int, ...],
                        seconds: float) -> dict[str, Any]:
    """Raw SET, GET and GETDEL round trips with redis.asyncio (hiredis), as the bot uses it."""
    client = aioredis.from_url(redis_url, max_connections=POOL)
    value = b"x" * 160
    out: dict[str, Any] = {}
    for level in levels:
        for command in ("SET", "GET", "GETDEL"):
            latencies: list[float] = []
            stop = time.perf_counter() + seconds

            async def worker(w: int, command: str = command, level: int = level,
                             latencies: list[float] = latencies, stop: float = stop) -> None:
                n = 0
                while time.perf_counter() < stop:
                    key = f"floor:{level}:{w}:{n}"
                    n += 1
                    t0 = time.perf_counter()
                    if command == "SET":
                        await client.set(key, value, ex=3600)
                    elif command == "GET":
                        await client.get(key)
                    else:
                        await client.getdel(key)
                    latencies.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker(w) for w in range(level)))
            elapsed = time.perf_counter() - t0
            out[f"{command}@{level}"] = {"ops_per_s": round(len(latencies) / elapsed),
                                         "p50_ms": ms(percentile(latencies, 50)),
                                         "p99_ms": ms(percentile(latencies, 99))}
    await client.flushdb()
    await client.aclose()
    return out
