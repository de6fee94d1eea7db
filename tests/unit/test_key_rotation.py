"""Key rotation (`keys rotate`, `keys check`) against a real Redis, while reveals run."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import time
from collections import Counter

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.crypto import MasterKey, StaticKeyRing, encrypt, key_id_of
from bot.domain import RevealOutcome, ShareForm, Status
from bot.secrets import rotation
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace, connect
from bot.storage.key_usage import RedisKeyUsage
from devtools.harness.bot_process import REPO
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, redis_contents

K0 = MasterKey("k0", b"\x05" * 32)
K1 = MasterKey("k1", bytes(range(32)))
K2 = MasterKey("k2", b"\x07" * 32)
OLD, BOTH, NEW = StaticKeyRing([K1]), StaticKeyRing([K2, K1]), StaticKeyRing([K2])
KEYS = KeySpace("ss")


class People:
    async def not_people(self, user_ids):
        return {}


def form(text: str, *, recipients=("UBOB",), passphrase=None, expiry="86400") -> ShareForm:
    return ShareForm(team_id="T1", sender_id="UALICE", recipients=recipients, text=text,
                     expiry_seconds=expiry, passphrase=passphrase)


def service(store, ring) -> SharingService:
    """A bot configured with `ring` (its store seals and checks metadata with it too)."""
    return SharingService(store=store.with_keyring(ring), keyring=ring)


def entry(key: MasterKey) -> str:
    return f"{key.key_id}:{base64.b64encode(key.material).decode()}"


async def reveal(svc, secret_id, user, shown, passphrase=None):
    async def show(plaintext, claim):
        shown.append((secret_id, user, plaintext))
        await asyncio.sleep(0.002)  # a modal takes a moment to open: rotation runs meanwhile
    return await svc.reveal(secret_id=secret_id, user_id=user, team_id="T1", show=show,
                            passphrase=passphrase)


def legacy_v2(plaintext: bytes, passphrase: bytes, record_id: str) -> bytes:
    """A passphrase token as earlier releases wrote it (HKDF over master key + scrypt)."""
    salt, nonce = b"\x11" * 16, b"\x22" * 12
    header = bytes([2, 2]) + b"k1" + salt + nonce
    stretched = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
               info=b"share-secret/v2 data key").derive(K1.material + stretched)
    return header + AESGCM(key).encrypt(nonce, plaintext, header + record_id.encode())


@pytest.fixture
async def usage(redis_url, redis_sync):
    client = connect(redis_url)
    yield RedisKeyUsage(client, keys=KEYS)
    await client.aclose()


def rotate_in_thread(redis_url, ring, *, page, progress=None):
    """Rotation on its own connection and thread, as the CLI runs beside the bot."""
    async def go():
        client = connect(redis_url)
        try:
            return await rotation.rotate(RedisKeyUsage(client, keys=KEYS), ring, page=page,
                                         progress=progress)
        finally:
            await client.aclose()
    return asyncio.to_thread(asyncio.run, go())


async def test_rotation_during_concurrent_reveals(store, redis_url, redis_sync):
    """While reveals race the rotation, no secret is shown twice for one view or comes back
    after its last view, and every unrevealed one opens with the new key alone."""
    plain = [await service(store, OLD).share(form(f"plain-{i}", recipients=("UBOB", "UCAROL")),
                                             people=People()) for i in range(200)]
    guarded = [await service(store, OLD).share(form(f"guarded-{i}", passphrase="pass phrase"),
                                               people=People()) for i in range(8)]
    ttls_before = {r.secret_id: redis_sync.pttl(KEYS.ciphertext(r.secret_id)) for r in plain}
    bot = service(store, BOTH)  # replicas restarted with k2 first, k1 still configured
    shown: list[tuple[str, str, str]] = []
    # Clicks in flight at once are bounded as the bot's lanes bound them: 700 at once
    # would wait on the Redis connection pool longer than its timeout on a busy machine.
    lane = asyncio.Semaphore(32)

    async def click(secret_id, user, passphrase=None):
        async with lane:
            return await reveal(bot, secret_id, user, shown, passphrase)

    clicks = []
    for i, record in enumerate(plain):
        clicks += [click(record.secret_id, "UBOB") for _ in range(3)]
        if i % 2 == 0:  # both recipients: the last view burns it mid-rotation
            clicks += [click(record.secret_id, "UCAROL") for _ in range(2)]
    clicks += [click(r.secret_id, "UBOB", "pass phrase") for r in guarded[:4]]

    report, *results = await asyncio.gather(
        # Paced so that the run spans the clicks (it would otherwise finish first).
        rotate_in_thread(redis_url, BOTH, page=10, progress=lambda _: time.sleep(0.02)),
        *clicks)

    views = Counter((secret, user) for secret, user, _ in shown)
    assert set(views.values()) == {1}, "a view was shown twice"
    assert len(views) == 200 + 100 + 4
    assert sum(r.outcome is RevealOutcome.REVEALED for r in results) == len(views)
    assert {text for _, _, text in shown} >= {f"plain-{i}" for i in range(200)}
    # A burned secret leaves the expiry index at once: ones burned before the run reached
    # them are not scanned at all, ones burned after it read them count as ended.
    assert report.scanned == report.rotated + report.ended + report.current
    assert not report.skipped
    assert report.rotated >= 100 + 4  # at least the ones nobody finished with
    assert report.scanned < 208 or report.ended > 0, "no burn overlapped the run"

    # The old key is removed: what is left opens with k2 alone, what ended stays ended.
    after = service(store, NEW)
    for i, record in enumerate(plain):
        ciphertext = redis_sync.get(KEYS.ciphertext(record.secret_id))
        if i % 2 == 0:
            assert ciphertext is None, "a burned secret was resurrected"
            assert (await store.get(record.secret_id)).status is Status.BURNED
            again = await reveal(after, record.secret_id, "UCAROL", shown)
            assert again.outcome is RevealOutcome.UNAVAILABLE
        else:
            assert key_id_of(ciphertext) == "k2"
            assert 0 < redis_sync.pttl(KEYS.ciphertext(record.secret_id)) \
                <= ttls_before[record.secret_id]
            seen: list = []
            assert (await reveal(after, record.secret_id, "UCAROL", seen)).outcome \
                is RevealOutcome.REVEALED
            assert seen[0][2] == f"plain-{i}"
            assert (await reveal(after, record.secret_id, "UBOB", seen)).outcome \
                is RevealOutcome.UNAVAILABLE
    for i, record in enumerate(guarded):
        seen = []
        result = await reveal(after, record.secret_id, "UBOB", seen, "pass phrase")
        expected = RevealOutcome.UNAVAILABLE if i < 4 else RevealOutcome.REVEALED
        assert result.outcome is expected
        assert [text for _, _, text in seen] == ([] if i < 4 else [f"guarded-{i}"])
    leaked = [v for v in redis_contents(redis_sync) if b"plain-" in v or b"guarded-" in v]
    assert leaked == []


async def test_two_runs_at_once_move_each_secret_once(store, redis_url, usage):
    """Two rotations racing each other (two operators) rotate every secret exactly once:
    the loser of a compare-and-set reads again and finds it current."""
    records = [await service(store, OLD).share(form(f"t{i}"), people=People())
               for i in range(200)]
    first, second = await asyncio.gather(rotate_in_thread(redis_url, BOTH, page=10),
                                         rotate_in_thread(redis_url, BOTH, page=10))
    assert first.rotated + second.rotated == 200
    assert first.complete
    assert second.complete
    assert (await rotation.usage(usage)).by_key == Counter({"k2": 200})
    shown: list = []
    await reveal(service(store, NEW), records[7].secret_id, "UBOB", shown)
    assert shown[0][2] == "t7"


class Interrupted(Exception):
    pass


async def test_an_interrupted_rotation_is_finished_by_running_it_again(store, usage):
    """Stopped after its first page, a second run moves the rest and counts the first's
    work as already current."""
    # More than Redis keeps in a compact sorted set (128), so ZSCAN really pages.
    records = [await service(store, OLD).share(form(f"s{i}"), people=People())
               for i in range(300)]

    def stop(report):
        raise Interrupted

    with pytest.raises(Interrupted):
        await rotation.rotate(usage, BOTH, page=20, progress=stop)
    halfway = (await rotation.usage(usage)).by_key
    assert halfway["k1"] > 0
    assert halfway["k2"] > 0
    assert halfway.total() == 300

    report = await rotation.rotate(usage, BOTH, page=20)
    assert (report.scanned, report.rotated, report.current) == (300, halfway["k1"],
                                                                 halfway["k2"])
    assert report.complete
    assert (await rotation.usage(usage)).by_key == Counter({"k2": 300})
    again = await rotation.rotate(usage, BOTH, page=20)
    assert (again.rotated, again.current) == (0, 300)
    for i, record in enumerate(records[:20] + records[-20:]):
        shown: list = []
        await reveal(service(store, NEW), record.secret_id, "UBOB", shown)
        assert shown[0][2] == (f"s{i}" if i < 20 else f"s{280 + i - 20}")


async def stored_with(store, token_of, text="x"):
    """A secret stored through the service, then its ciphertext swapped for another."""
    record = await service(store, OLD).share(form(text), people=People())
    return record, token_of(record.secret_id)


async def test_every_kind_of_secret_is_counted_and_only_movable_ones_move(
        store, usage, redis_sync):
    """Plain and layered-passphrase secrets move; old-format passphrase, unknown-key and
    damaged ones are left as they are and counted with their reason; ended ones are left."""
    kinds = {
        "plain": lambda sid: encrypt(b"a", record_id=sid, keyring=OLD),
        "layered": lambda sid: encrypt(b"b", record_id=sid, keyring=OLD, passphrase="pw"),
        "current": lambda sid: encrypt(b"c", record_id=sid, keyring=NEW),
        "v2": lambda sid: legacy_v2(b"d", b"pw", sid),
        "unknown key": lambda sid: encrypt(b"e", record_id=sid,
                                           keyring=StaticKeyRing([K0])),
        "damaged": lambda sid: encrypt(b"f", record_id=sid, keyring=OLD)[:-1] + b"\x00",
    }
    tokens = {}
    for kind, make in kinds.items():
        record = await service(store, OLD).share(form(kind), people=People())
        tokens[kind] = (record.secret_id, make(record.secret_id))
        redis_sync.set(KEYS.ciphertext(record.secret_id), tokens[kind][1], keepttl=True)
    revoked = await service(store, OLD).share(form("revoked"), people=People())
    await store.end(revoked.secret_id, status=Status.REVOKED, now=0)

    report = await rotation.rotate(usage, BOTH)
    assert (report.scanned, report.rotated, report.current, report.ended) == (7, 2, 1, 1)
    assert report.skipped == Counter({rotation.OLD_FORMAT: 1, rotation.KEY_MISSING: 1,
                                      rotation.DAMAGED: 1})
    assert not report.complete
    assert report.last_old_format_expiry is not None
    for kind in ("v2", "unknown key", "damaged"):
        secret_id, token = tokens[kind]
        assert redis_sync.get(KEYS.ciphertext(secret_id)) == token
    assert redis_sync.get(KEYS.ciphertext(revoked.secret_id)) is None
    found = await rotation.usage(usage)
    assert found.by_key == Counter({"k2": 3, "k1": 2, "k0": 1})
    assert found.old_format == Counter({"k1": 1})


async def test_compare_and_set_refuses_changed_and_ended_secrets(store, usage, redis_sync):
    """The rewrite replaces only the ciphertext and seal it read, only while the secret is
    active, and keeps the TTL."""
    record = await service(store, OLD).share(form("x"), people=People())
    key = KEYS.ciphertext(record.secret_id)
    old = redis_sync.get(key)
    seal = redis_sync.hget(KEYS.meta(record.secret_id), "mac").decode()
    ttl = redis_sync.pttl(key)
    assert await usage.replace(record.secret_id, old=b"something else", new=b"new",
                               old_seal=seal, new_seal="s") == "changed"
    assert await usage.replace(record.secret_id, old=old, new=b"new",
                               old_seal="another seal", new_seal="s") == "changed"
    assert redis_sync.get(key) == old
    assert redis_sync.hget(KEYS.meta(record.secret_id), "mac").decode() == seal
    assert await usage.replace(record.secret_id, old=old, new=b"new", old_seal=seal,
                               new_seal="s") == "rotated"
    assert redis_sync.get(key) == b"new"
    assert redis_sync.hget(KEYS.meta(record.secret_id), "mac") == b"s"
    assert ttl - 1000 < redis_sync.pttl(key) <= ttl
    await store.end(record.secret_id, status=Status.REVOKED, now=0)
    assert await usage.replace(record.secret_id, old=b"new", new=b"newer", old_seal="s",
                               new_seal="t") == "ended"
    assert redis_sync.get(key) is None
    assert await usage.replace("2" * 12 + "A" * 16, old=b"a", new=b"b", old_seal="",
                               new_seal="") == "ended"
    assert stored_keys(redis_sync, "2" * 12) == []


def stored_keys(client, handle):
    return [k for k in client.scan_iter(match=f"ss:{{{handle}}}:*")]


def cli(args, redis_url, tmp_path, keys):
    env = {"PYTHONPATH": str(REPO), "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "REDIS_URL": redis_url,
           "ENCRYPTION_KEYS": ",".join(entry(k) for k in keys)}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60, check=False)


async def test_cli_check_rotate_check(store, redis_url, redis_sync, tmp_path):
    """`keys check` names the keys in use, `keys rotate` reports its counts, and after it
    the old key is reported unused; a used key missing from the config fails the check."""
    for i in range(5):
        await service(store, OLD).share(form(f"cli-secret-{i}"), people=People())
    before = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
    assert before.returncode == 0, before.stderr
    assert "Active secrets: 5" in before.stdout
    assert [line.split()[:3] for line in before.stdout.splitlines()[1:3]] == [
        ["k2", "encrypts", "0"], ["k1", "configured", "5"]]

    missing = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2])
    assert missing.returncode == 1
    assert "k1" in missing.stdout
    assert "NOT CONFIGURED" in missing.stdout
    assert "missing from ENCRYPTION_KEYS: k1" in missing.stdout

    done = await asyncio.to_thread(cli, ["keys", "rotate"], redis_url, tmp_path, [K2, K1])
    assert done.returncode == 0, done.stderr
    assert ("scanned 5, rotated 5, already current 0, ended meanwhile 0, skipped 0"
            in done.stdout)
    assert "remove the other keys" in done.stdout

    after = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
    assert after.returncode == 0
    assert "Unused, can be removed from ENCRYPTION_KEYS: k1" in after.stdout
    output = before.stdout + before.stderr + done.stdout + done.stderr + after.stdout
    assert "cli-secret" not in output
    assert base64.b64encode(K1.material).decode() not in output


async def test_cli_rotate_reports_what_it_could_not_move(store, redis_url, redis_sync,
                                                         tmp_path):
    """Old-format passphrase secrets are reported with when the last expires; exit 3."""
    record = await service(store, OLD).share(form("x"), people=People())
    redis_sync.set(KEYS.ciphertext(record.secret_id),
                   legacy_v2(b"x", b"pw", record.secret_id), keepttl=True)
    done = await asyncio.to_thread(cli, ["keys", "rotate"], redis_url, tmp_path, [K2, K1])
    assert done.returncode == 3
    assert f"skipped 1: {rotation.OLD_FORMAT}" in done.stdout
    assert "the last of the older-format passphrase secrets expires" in done.stdout
    check = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
    assert "1 with a passphrase in the older format" in check.stdout




async def test_oauth_installations_are_rotated_too(store, usage, redis_url, redis_sync):
    """Workspace installations (tokens sealed with the key ring, kept without expiry) move
    to the new key and still open after the old key is removed; one saved again during
    the run (a reinstall) is not overwritten."""
    from slack_sdk.oauth.installation_store import Installation

    from bot.storage.installations import RedisInstallationStore

    def install(team: str, token: str) -> Installation:
        return Installation(app_id="A1", team_id=team, bot_token=token, bot_id="B1",
                            bot_user_id="UBOT", bot_scopes="commands", user_id="U1")

    client = connect(redis_url)
    try:
        old_store = RedisInstallationStore(client, keys=KEYS, keyring=OLD)
        for team in ("T1", "T2"):
            await old_store.async_save(install(team, f"xoxb-{team}-old-token"))
        before = (await rotation.usage(usage)).installations
        assert before == Counter({"k1": 6})  # latest, by user and bot, per workspace

        report = await rotation.rotate(usage, BOTH)
        assert report.installations == Counter({"rotated": 6})
        assert report.complete
        assert (await rotation.usage(usage)).installations == Counter({"k2": 6})
        new_store = RedisInstallationStore(client, keys=KEYS, keyring=NEW)
        bot = await new_store.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None
        assert bot.bot_token == "xoxb-T1-old-token"

        # A reinstall between the read and the write wins over the re-encrypted old value.
        key = KEYS.bot("T-T2")
        read = redis_sync.get(key)
        await RedisInstallationStore(client, keys=KEYS, keyring=BOTH).async_save_bot(
            install("T2", "xoxb-T2-new-token").to_bot())
        assert await usage.replace_value(key, old=read, new=b"stale") == "changed"
        found = await new_store.async_find_bot(enterprise_id=None, team_id="T2")
        assert found is not None
        assert found.bot_token == "xoxb-T2-new-token"
    finally:
        await client.aclose()


async def test_check_counts_installations_under_a_missing_key(store, redis_url, redis_sync,
                                                             tmp_path):
    """`keys check` fails when an installation (not only a secret) uses a key that is not
    configured, and does not call that key removable while installations use it."""
    from slack_sdk.oauth.installation_store import Installation

    from bot.storage.installations import RedisInstallationStore

    client = connect(redis_url)
    try:
        await RedisInstallationStore(client, keys=KEYS, keyring=OLD).async_save(Installation(
            app_id="A1", team_id="T1", bot_token="xoxb-1-2-abc", bot_id="B1",
            bot_user_id="UBOT", user_id="U1"))
    finally:
        await client.aclose()
    kept = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
    assert kept.returncode == 0
    assert "can be removed" not in kept.stdout
    assert "3 OAuth installation values" in kept.stdout
    gone = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2])
    assert gone.returncode == 1
    assert "missing from ENCRYPTION_KEYS: k1" in gone.stdout
    assert "xoxb-1-2-abc" not in kept.stdout + gone.stdout


async def test_api_tokens_keep_their_key_until_rotation_reseals_them(store, redis_url,
                                                                   redis_sync, tmp_path):
    """`keys check` counts API token records by the key that sealed them, and does not
    call that key removable; `keys rotate` re-seals them under the first key, after which
    the token still works with the old key gone."""
    from bot.api.tokens import ApiTokens

    client = connect(redis_url)
    try:
        _, text = await ApiTokens(client, keys=KEYS, keyring=OLD).create(
            team_id="T1", name="deploy-bot", created_by="U0ADMIN")
        kept = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
        assert kept.returncode == 0
        assert "1 API tokens" in kept.stdout
        assert "can be removed" not in kept.stdout
        done = await asyncio.to_thread(cli, ["keys", "rotate"], redis_url, tmp_path, [K2, K1])
        assert done.returncode == 0, done.stderr
        assert "API tokens: re-sealed 1, already current 0" in done.stdout
        assert text not in done.stdout + done.stderr
        after = await asyncio.to_thread(cli, ["keys", "check"], redis_url, tmp_path, [K2, K1])
        assert "Unused, can be removed from ENCRYPTION_KEYS: k1" in after.stdout
        assert await ApiTokens(client, keys=KEYS, keyring=NEW).verify(text) is not None
    finally:
        await client.aclose()
