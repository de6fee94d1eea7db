"""The web page's service (bot.secrets.web_reveal), below HTTP, on a real Redis: a link
opens once whoever races for it, a wrong key uses nothing, email recipients prove their
address with a mailed code, and nothing secret is left in Redis or the audit log."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.audit.log import DurableAuditLog
from bot.domain import Audience, AuditAction, ShareForm
from bot.secrets.external import (
    CodeOutcome,
    ExternalPolicy,
    PageInfo,
    WebClient,
    WebOutcome,
    encode_link_key,
)
from bot.secrets.sharing import SharingService
from bot.secrets.web_parts import WebLimits
from bot.secrets.web_reveal import WebRevealService
from bot.storage import KeySpace, connect
from bot.storage.audit_stream import AuditStream
from bot.storage.rate_counter import RedisRateCounter
from bot.storage.web_codes import RedisWebCodes
from tests.unit.test_sharing import SECRET

CLIENT = WebClient("203.0.113.7", "Mozilla/5.0 (test)")
OPEN = ExternalPolicy()


class Names:
    async def sender_and_workspace(self, team_id, user_id):
        return ("Alice", "Acme")


class MailBox:
    """Where the service's code mails go (the SMTP sender is tested on its own)."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    async def send_code(self, *, to: str, code: str, page: PageInfo) -> None:
        self.codes[to] = code


@pytest.fixture
async def web(store, keyring, redis_url):
    redis = connect(redis_url)
    stream = AuditStream(redis, prefix="ss", retention_seconds=3600)
    mail = MailBox()
    sharing = SharingService(store=store, keyring=keyring)
    service = WebRevealService(
        sharing=sharing, store=store, codes=RedisWebCodes(redis, keys=KeySpace("ss")),
        counter=RedisRateCounter(redis, keys=KeySpace("ss")), names=Names(),
        audit=DurableAuditLog(stream, logger=logging.getLogger("test")), keyring=keyring,
        logger=logging.getLogger("test"), mail=mail,
        limits=WebLimits(reveals_per_ip=1000, reveals_per_secret=1000))
    yield sharing, service, mail, stream
    await service.close()
    await redis.aclose()


def external(audience=Audience.LINK, **changes) -> ShareForm:
    values = {"team_id": "T1", "sender_id": "UALICE", "recipients": (), "text": SECRET,
              "expiry_seconds": "3600", "audience": audience, "label": "Staging DB"}
    values.update(changes)
    return ShareForm(**values)


async def test_the_page_shows_who_shared_it_and_nothing_secret(web):
    sharing, service, _, stream = web
    share = await sharing.share_external(external(), policy=OPEN)
    page = await service.describe(share.record.secret_id, client=CLIENT)
    assert page == PageInfo(Audience.LINK, "Alice", "Acme", "Staging DB",
                            int(share.record.expires_at), False)
    await service.describe(share.record.secret_id, client=CLIENT)
    opened = [e for e in await stream.latest(count=50) if e.action is AuditAction.PAGE_OPENED]
    assert len(opened) == 1  # throttled per secret
    assert (opened[0].mode, opened[0].client_ip) == ("external", "203.0.113.7")
    assert await service.describe("nonsense", client=CLIENT) is None


async def test_thirty_concurrent_reveals_of_a_link_show_it_once(web):
    sharing, service, _, _ = web
    share = await sharing.share_external(external(), policy=OPEN)
    key = encode_link_key(share.link_key)
    results = await asyncio.gather(*(service.reveal(share.record.secret_id, link_key=key,
                                                    client=CLIENT) for _ in range(30)))
    revealed = [r for r in results if r.outcome is WebOutcome.REVEALED]
    assert len(revealed) == 1
    assert revealed[0].text == SECRET
    assert revealed[0].last_view
    # The others waited for the one in flight: told it is gone, not that we are busy.
    assert {r.outcome for r in results} - {WebOutcome.REVEALED} == {WebOutcome.GONE}
    again = await service.reveal(share.record.secret_id, link_key=key, client=CLIENT)
    assert again.outcome is WebOutcome.GONE
    assert await service.describe(share.record.secret_id, client=CLIENT) is None


async def test_concurrent_holders_of_a_link_share_its_views(web):
    """Everyone with the link reveals as the one principal: a claim refused because
    another holder's view is in flight waits its turn, so three views go to three."""
    sharing, service, _, _ = web
    share = await sharing.share_external(external(view_mode="total", total_views="3"),
                                         policy=OPEN)
    key = encode_link_key(share.link_key)
    results = await asyncio.gather(*(service.reveal(share.record.secret_id, link_key=key,
                                                    client=CLIENT) for _ in range(30)))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(WebOutcome.REVEALED) == 3
    assert outcomes.count(WebOutcome.GONE) == 27
    assert [r.last_view for r in results].count(True) == 1


async def test_a_wrong_link_key_uses_nothing_and_is_audited(web):
    sharing, service, _, stream = web
    share = await sharing.share_external(external(), policy=OPEN)
    for wrong in ("x", encode_link_key(bytes(32))):
        result = await service.reveal(share.record.secret_id, link_key=wrong, client=CLIENT)
        assert result.outcome is WebOutcome.GONE
    denied = [e for e in await stream.latest(count=50)
              if e.action is AuditAction.ACCESS_DENIED]
    assert len(denied) == 2
    right = await service.reveal(share.record.secret_id,
                                 link_key=encode_link_key(share.link_key), client=CLIENT)
    assert right.outcome is WebOutcome.REVEALED


async def test_an_email_recipient_reveals_with_the_mailed_code(web, redis_sync):
    sharing, service, mail, stream = web
    share = await sharing.share_external(
        external(Audience.EMAIL, emails="bob@vendor.com"), policy=OPEN)
    secret_id, key = share.record.secret_id, encode_link_key(share.link_key)
    assert (await service.reveal(secret_id, link_key=key, client=CLIENT)).outcome \
        is WebOutcome.CODE_NEEDED
    # A stranger's address gets the same answer, and no mail.
    tickets = {}
    for address in ("eve@evil.example", "Bob@Vendor.com"):
        answer = await service.request_code(secret_id, link_key=key, email=address,
                                            client=CLIENT)
        assert answer.outcome is CodeOutcome.SENT
        assert answer.ticket  # decoys have one too
        tickets[address.lower()] = answer.ticket
    ticket = tickets["bob@vendor.com"]
    await asyncio.sleep(0.05)
    assert list(mail.codes) == ["bob@vendor.com"]
    code = mail.codes["bob@vendor.com"]
    assert len(code) == 8
    assert code.isdigit()
    # Nothing that names the address or the code is in Redis.
    dump = b"".join(redis_sync.dump(k) or b"" for k in redis_sync.scan_iter())
    keys = b" ".join(redis_sync.scan_iter())
    for text in (b"bob@vendor.com", code.encode(), SECRET.encode()):
        assert text not in keys
    assert code.encode() not in dump
    without_ticket = await service.reveal(secret_id, link_key=key, client=CLIENT,
                                          email="bob@vendor.com", code=code)
    assert without_ticket.outcome is WebOutcome.CODE_NEEDED
    wrong = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=ticket,
                                 email="bob@vendor.com", code="00000000" if code != "00000000"
                                 else "11111111")
    assert (wrong.outcome, wrong.tries_left) == (WebOutcome.WRONG_CODE, 4)
    right = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=ticket,
                                 email="bob@vendor.com", code=f"{code[:4]} {code[4:]}")
    assert right.outcome is WebOutcome.REVEALED
    assert right.text == SECRET
    used = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=ticket,
                                email="bob@vendor.com", code=code)
    assert used.outcome is WebOutcome.GONE  # its only recipient has used its view
    events = await stream.latest(count=50)
    lines = repr(events)
    assert "bob@vendor.com" not in lines  # the audit log masks addresses
    assert "b**@vendor.com" in lines
    assert code not in lines
    sent = [e for e in events if e.action is AuditAction.CODE_SENT]
    assert [e.detail for e in sent] == ["to b**@vendor.com"]


async def test_five_wrong_codes_void_their_own_request_s_code_only(web):
    sharing, service, mail, _ = web
    share = await sharing.share_external(
        external(Audience.EMAIL, emails="bob@vendor.com"), policy=OPEN)
    secret_id, key = share.record.secret_id, encode_link_key(share.link_key)
    mine = (await service.request_code(secret_id, link_key=key, email="bob@vendor.com",
                                       client=CLIENT)).ticket
    await asyncio.sleep(0.05)
    code = mail.codes["bob@vendor.com"]
    # Another request's tries (a fellow recipient's, say) spend only its own code.
    theirs = (await service.request_code(secret_id, link_key=key, email="bob@vendor.com",
                                         client=CLIENT)).ticket
    await asyncio.sleep(0.05)
    wrong = "1" * 8 if code != "1" * 8 and mail.codes["bob@vendor.com"] != "1" * 8 \
        else "2" * 8
    outcomes = [(await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=theirs,
                                      email="bob@vendor.com", code=wrong)).outcome
                for _ in range(5)]
    assert outcomes == [WebOutcome.WRONG_CODE] * 4 + [WebOutcome.CODE_VOID]
    voided = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=theirs,
                                  email="bob@vendor.com", code=mail.codes["bob@vendor.com"])
    assert voided.outcome is WebOutcome.CODE_VOID
    mine_still = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=mine,
                                      email="bob@vendor.com", code=code)
    assert mine_still.outcome is WebOutcome.REVEALED


async def test_a_wrong_passphrase_keeps_the_code(web):
    sharing, service, mail, _ = web
    share = await sharing.share_external(
        external(Audience.EMAIL, emails="bob@vendor.com", passphrase="correct horse"),
        policy=OPEN)
    secret_id, key = share.record.secret_id, encode_link_key(share.link_key)
    ticket = (await service.request_code(secret_id, link_key=key, email="bob@vendor.com",
                                         client=CLIENT)).ticket
    await asyncio.sleep(0.05)
    code = mail.codes["bob@vendor.com"]
    asked = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=ticket,
                                 email="bob@vendor.com", code=code)
    assert asked.outcome is WebOutcome.NEEDS_PASSPHRASE
    wrong = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=ticket,
                                 email="bob@vendor.com", code=code, passphrase="wrong horse")
    assert wrong.outcome is WebOutcome.WRONG_PASSPHRASE
    right = await service.reveal(secret_id, link_key=key, client=CLIENT, ticket=ticket,
                                 email="bob@vendor.com", code=code, passphrase="correct horse")
    assert right.outcome is WebOutcome.REVEALED


async def test_limits_per_ip_are_shared_through_redis(web, store, keyring, redis_url):
    sharing, _, _, _ = web
    redis = connect(redis_url)
    strict = WebRevealService(
        sharing=sharing, store=store, codes=RedisWebCodes(redis, keys=KeySpace("ss")),
        counter=RedisRateCounter(redis, keys=KeySpace("ss")), names=Names(),
        audit=DurableAuditLog(AuditStream(redis, prefix="ss", retention_seconds=3600),
                              logger=logging.getLogger("test")),
        keyring=keyring, logger=logging.getLogger("test"),
        limits=WebLimits(reveals_per_ip=2))
    share = await sharing.share_external(external(), policy=OPEN)
    outcomes = [(await strict.reveal(share.record.secret_id, link_key="x",
                                     client=CLIENT)).outcome for _ in range(3)]
    assert outcomes == [WebOutcome.GONE, WebOutcome.GONE, WebOutcome.RATE_LIMITED]
    # Every address of one IPv6 /64 is one client; another network is another.
    same_net = [(await strict.reveal(share.record.secret_id, link_key="x",
                                     client=WebClient(f"2001:db8::{n}"))).outcome
                for n in range(1, 4)]
    assert same_net == [WebOutcome.GONE, WebOutcome.GONE, WebOutcome.RATE_LIMITED]
    other_ip = await strict.reveal(share.record.secret_id, client=WebClient("198.51.100.1"),
                                   link_key=encode_link_key(share.link_key))
    assert other_ip.outcome is WebOutcome.REVEALED
    await redis.aclose()


async def test_listed_and_unlisted_addresses_meet_the_same_answers(web):
    """No oracle: with the link, an address not on the list gets a decoy code, so a
    typed code is "wrong, 4 tries left" whether or not the address is listed."""
    sharing, service, mail, _ = web
    share = await sharing.share_external(
        external(Audience.EMAIL, emails="bob@vendor.com"), policy=OPEN)
    secret_id, key = share.record.secret_id, encode_link_key(share.link_key)
    answers = []
    for address in ("bob@vendor.com", "mallory@vendor.com"):
        asked = await service.request_code(secret_id, link_key=key, email=address,
                                           client=CLIENT)
        tried = await service.reveal(secret_id, link_key=key, client=CLIENT, email=address,
                                     ticket=asked.ticket,
                                     code="12345678" if mail.codes.get(address) != "12345678"
                                     else "87654321")
        answers.append((asked.outcome, tried.outcome, tried.tries_left))
    assert answers[0] == answers[1]
    assert answers[0][1:] == (WebOutcome.WRONG_CODE, 4)


async def test_without_the_link_key_nothing_is_tried_or_counted(web, redis_sync):
    """Knowing the address of the page is not enough: a wrong key asks for no code, tries
    no code, counts no passphrase guess and uses none of the secret's limits."""
    sharing, service, mail, _ = web
    locked = await sharing.share_external(external(passphrase="correct horse"), policy=OPEN)
    wrong = encode_link_key(bytes(32))
    for _ in range(8):
        result = await service.reveal(locked.record.secret_id, link_key=wrong,
                                      client=CLIENT, passphrase="guess guess")
        assert result.outcome is WebOutcome.GONE
    assert redis_sync.zcard(KeySpace("ss").guesses(locked.record.secret_id)) == 0
    right = await service.reveal(locked.record.secret_id, client=CLIENT,
                                 link_key=encode_link_key(locked.link_key),
                                 passphrase="correct horse")
    assert right.outcome is WebOutcome.REVEALED
    emailed = await sharing.share_external(
        external(Audience.EMAIL, emails="bob@vendor.com"), policy=OPEN)
    asked = await service.request_code(emailed.record.secret_id, link_key=wrong,
                                       email="bob@vendor.com", client=CLIENT)
    assert asked.outcome is CodeOutcome.GONE
    await asyncio.sleep(0.05)
    assert mail.codes == {}


async def test_mail_waiting_behind_a_stalled_server_is_bounded(web, monkeypatch):
    """A stalled mail server must not let waiting mails grow without end: past the bound
    a code mail is dropped (and logged); the answer is the same."""
    from bot.secrets import web_parts

    sharing, service, mail, _ = web
    stalled = asyncio.Event()
    sent: list[str] = []

    async def send_code(*, to, code, page):
        await stalled.wait()
        sent.append(to)
    monkeypatch.setattr(mail, "send_code", send_code)
    monkeypatch.setattr(web_parts, "MAX_WAITING", 1)
    share = await sharing.share_external(
        external(Audience.EMAIL, emails="bob@vendor.com, carol@example.org"), policy=OPEN)
    key = encode_link_key(share.link_key)
    for address in ("bob@vendor.com", "carol@example.org"):
        answer = await service.request_code(share.record.secret_id, link_key=key,
                                            email=address, client=CLIENT)
        assert answer.outcome is CodeOutcome.SENT
    stalled.set()
    await service.close()
    assert sent == ["bob@vendor.com"]
