"""Operator commands `keys rotate`, `keys check` and `keys seal`: counts and key ids only, never a
secret, a key or a ciphertext. API tokens' records are sealed with the key ring too: rotation
re-seals them, and `keys check` counts them by key."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from bot.api.tokens import ApiTokens
from bot.config import Settings
from bot.crypto import StaticKeyRing
from bot.secrets import rotation
from bot.storage import KeySpace, connect
from bot.storage.key_usage import RedisKeyUsage

PROGRESS_SECONDS = 2.0


async def rotate_keys(settings: Settings, *, out: TextIO = sys.stdout,
                      progress: TextIO = sys.stderr,
                      page: int = rotation.PAGE) -> rotation.RotationReport:
    """Move every active secret to the first key of ENCRYPTION_KEYS and print the counts."""
    ring = StaticKeyRing(settings.encryption_keys)
    client = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
    store = RedisKeyUsage(client, keys=KeySpace(settings.redis_key_prefix))
    last = time.monotonic()

    def tick(report: rotation.RotationReport) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            progress.write(f"... {_counts(report)}\n")
            progress.flush()

    progress.write(f"Re-encrypting active secrets under key {ring.encryption_key().key_id}\n")
    try:
        report = await rotation.rotate(store, ring, progress=tick, page=page)
        tokens = await ApiTokens(client, keys=KeySpace(settings.redis_key_prefix),
                                 keyring=ring).reseal()
    finally:
        await client.aclose()
    out.write(_summary(report))
    if any(tokens.values()):
        out.write(f"API tokens: re-sealed {tokens['rotated']}, already current "
                  f"{tokens['current']}, revoked meanwhile {tokens['ended']}.\n")
        if tokens["changed"]:
            out.write(f"  {tokens['changed']} changed during the run: run it again.\n")
        if tokens["refused"]:
            out.write(f"  {tokens['refused']} fail their integrity check (changed in Redis, "
                      "or sealed with a key not in ENCRYPTION_KEYS): refused, left as "
                      "they are. Revoke them.\n")
    return report


def _counts(report: rotation.RotationReport) -> str:
    return (f"scanned {report.scanned}, rotated {report.rotated}, already current "
            f"{report.current}, ended meanwhile {report.ended}, "
            f"skipped {sum(report.skipped.values())}")


def _summary(report: rotation.RotationReport) -> str:
    lines = [f"Key rotation to {report.target}: {_counts(report)}."]
    for reason, count in sorted(report.skipped.items()):
        lines.append(f"  skipped {count}: {reason}")
    if report.refused:
        lines.append(f"  left {report.refused} whose metadata fails its integrity check "
                     "(changed in Redis, or stored before metadata was sealed): refused to "
                     "everyone, they stay under their old key until they end.")
    if report.installations:
        done = report.installations
        lines.append(f"OAuth installations: rotated {done['rotated']}, already current "
                     f"{done['current']}, removed meanwhile {done['ended']}.")
        for reason, count in sorted(done.items()):
            if reason not in {"rotated", "current", "ended"}:
                lines.append(f"  skipped {count}: {reason}")
    if report.last_old_format_expiry is not None:
        lines.append(f"  the last of the older-format passphrase secrets expires "
                     f"{_when(report.last_old_format_expiry)}; they end sooner when revealed "
                     "or revoked.")
    if report.complete:
        lines.append(f"Every active secret is under {report.target}. Run `keys check`, then "
                     "remove the other keys from ENCRYPTION_KEYS.")
    else:
        lines.append("Some secrets still use other keys: keep those keys configured "
                     "(`keys check` lists them).")
    return "\n".join(lines) + "\n"


async def check_keys(settings: Settings, *, out: TextIO = sys.stdout) -> int:
    """Print which key ids active secrets use; 1 when one of them is not configured."""
    configured = [key.key_id for key in settings.encryption_keys]
    client = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
    ring = StaticKeyRing(settings.encryption_keys)
    try:
        found = await rotation.usage(
            RedisKeyUsage(client, keys=KeySpace(settings.redis_key_prefix)), keyring=ring)
        tokens = await ApiTokens(client, keys=KeySpace(settings.redis_key_prefix),
                                 keyring=ring).seal_key_ids()
    finally:
        await client.aclose()
    total = sum(found.by_key.values())
    used = set(found.by_key) | set(found.installations) | set(tokens)
    out.write(f"Active secrets: {total}\n")
    for key_id in configured + sorted(used - set(configured)):
        role = "encrypts" if key_id == configured[0] else (
            "configured" if key_id in configured else "NOT CONFIGURED")
        count = found.by_key.get(key_id, 0)
        line = f"  {key_id:<32} {role:<15} {count} active"
        if count:
            line += f", the last expires {_when(found.last_expiry[key_id])}"
        if found.old_format.get(key_id):
            line += (f" ({found.old_format[key_id]} with a passphrase in the older format: "
                     "rotation cannot move them)")
        if found.installations.get(key_id):
            line += f"; {found.installations[key_id]} OAuth installation values"
        if tokens.get(key_id):
            line += f"; {tokens[key_id]} API tokens (valid while this key is configured)"
        out.write(line + "\n")
    if found.unreadable:
        out.write(f"  {found.unreadable} ciphertexts are damaged (no key id can be read)\n")
    if found.refused - found.unsealed:
        out.write(f"  {found.refused - found.unsealed} fail their metadata integrity check "
                  "(changed in Redis): they are refused to everyone\n")
    if found.unsealed:
        out.write(f"  {found.unsealed} have no metadata seal: they are refused to everyone. "
                  "Stored before seals: run `keys seal` once, right after the upgrade. "
                  "Otherwise their seal was deleted in Redis: leave them.\n")
    missing = sorted(used - set(configured))
    removable = [k for k in configured[1:] if k not in used]
    if removable:
        out.write(f"Unused, can be removed from ENCRYPTION_KEYS: {', '.join(removable)}\n")
    if missing:
        out.write(f"In use but missing from ENCRYPTION_KEYS: {', '.join(missing)}: what "
                  "they encrypt cannot be read until the key is added back.\n")
        return 1
    return 0


async def seal_keys(settings: Settings, *, force: bool = False,
                    out: TextIO = sys.stdout) -> int:
    """Seal the metadata of active secrets stored before seals existed, once, when
    upgrading; print the counts and the codes sealed. 1, sealing nothing, when it has run
    before and `force` is not given: by then a secret without a seal most likely had it
    deleted in Redis, and sealing would vouch for whatever was written there."""
    ring = StaticKeyRing(settings.encryption_keys)
    client = connect(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
    store = RedisKeyUsage(client, keys=KeySpace(settings.redis_key_prefix))
    try:
        done_at = await store.seals_done_at()
        if done_at is not None and not force:
            out.write(f"keys seal already ran ({_when(done_at)}). A secret without a seal "
                      "now most likely had its seal deleted in Redis: it stays refused. "
                      "Run again with --force only if you know why it has none.\n")
            return 1
        report = await rotation.seal_unsealed(store, ring)
        await store.mark_seals_done(time.time())
    finally:
        await client.aclose()
    out.write(f"Metadata seals: scanned {report.scanned} secrets, sealed {report.sealed} "
              f"stored before seals, {report.had_seal} already sealed, {report.ended} ended "
              "meanwhile.\n")
    for code in report.codes:
        out.write(f"  sealed {code}\n")
    return 0


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
