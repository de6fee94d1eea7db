"""Secrets for people outside Slack, below the web page: the form's addresses and the
workspace's policy, what is stored (no link key, the audience sealed), and that a reveal
needs the link's key. Real Redis."""

from __future__ import annotations

import pytest

from bot.domain import LINK_PRINCIPAL, Audience, RevealOutcome, ShareForm, email_principal
from bot.errors import ValidationFailed
from bot.secrets.external import (
    ExternalPolicy,
    decode_link_key,
    encode_link_key,
    link_url,
)
from bot.secrets.external_form import MAX_EMAILS, parse_addresses
from bot.secrets.sharing import SharingService
from bot.storage import KeySpace
from tests.conftest import stored_secrets
from tests.unit.test_sharing import SECRET

KEYS = KeySpace("ss")
OPEN = ExternalPolicy()


@pytest.fixture
def service(store, keyring):
    return SharingService(store=store, keyring=keyring)


def external(audience: Audience = Audience.LINK, **changes) -> ShareForm:
    values = {"team_id": "T1", "sender_id": "UALICE", "recipients": (), "text": SECRET,
              "expiry_seconds": "3600", "audience": audience}
    values.update(changes)
    return ShareForm(**values)


async def reveal(service, record, key: bytes | None, principal=LINK_PRINCIPAL,
                 passphrase=None):
    shown: list[str] = []

    async def show(plaintext, claim):
        shown.append(plaintext)
    result = await service.web_reveals.reveal(
        secret_id=record.secret_id, user_id=principal, team_id=record.team_id, show=show,
        link_key=key, passphrase=passphrase)
    return result, shown


# -- the addresses ------------------------------------------------------------------------


def test_addresses_are_split_on_commas_and_new_lines_lowercased_and_deduplicated():
    found, problem = parse_addresses("Bob@Vendor.com, carol@example.org\n<bob@vendor.com>;x@y.io")
    assert problem is None
    assert found == ("bob@vendor.com", "carol@example.org", "x@y.io")


@pytest.mark.parametrize("text", ["bob", "bob@", "@vendor.com", "bob@vendor", "a b@c.d",
                                  "bob@-vendor.com", "bob@vendor..com", "<script>@x.io"])
def test_what_is_not_an_address_is_named(text):
    found, problem = parse_addresses(f"ok@example.com, {text}")
    assert found == ()
    assert problem is not None
    assert problem.startswith("These are not email addresses")


def test_at_most_64_addresses():
    many = ",".join(f"p{i}@example.com" for i in range(MAX_EMAILS + 1))
    assert parse_addresses(many) == ((), f"At most {MAX_EMAILS} addresses.")
    assert len(parse_addresses(many.rpartition(",")[0])[0]) == MAX_EMAILS


# -- the link key ---------------------------------------------------------------------------


def test_a_link_key_round_trips_and_nothing_else_decodes():
    key = bytes(range(32))
    text = encode_link_key(key)
    assert len(text) == 43
    assert decode_link_key(text) == key
    assert link_url("https://s.example.com/", "ID", key) == f"https://s.example.com/s/ID#{text}"
    for wrong in ("", text[:-1], text + "A", text[:-1] + "!", "=" * 43):
        assert decode_link_key(wrong) is None


# -- sharing --------------------------------------------------------------------------------


async def test_a_link_share_stores_no_key_and_needs_the_link_to_open(service, store,
                                                                    redis_sync):
    share = await service.share_external(external(), policy=OPEN)
    record = share.record
    assert record.recipients == (LINK_PRINCIPAL,)
    assert record.audience is Audience.LINK
    stored = await store.get(record.secret_id)
    assert stored.audience is Audience.LINK
    assert not stored.tampered
    dump = b"".join(redis_sync.dump(k) or b"" for k in redis_sync.scan_iter())
    assert share.link_key not in dump
    assert encode_link_key(share.link_key).encode() not in dump
    assert SECRET.encode() not in dump
    # Without the key, or with another, nothing is shown and the view is not used up.
    for key in (None, bytes(32)):
        result, shown = await reveal(service, record, key)
        assert result.outcome is RevealOutcome.FAILED
        assert shown == []
    result, shown = await reveal(service, record, share.link_key)
    assert result.outcome is RevealOutcome.REVEALED
    assert shown == [SECRET]
    assert result.last_view
    again, shown = await reveal(service, record, share.link_key)
    assert again.outcome is RevealOutcome.UNAVAILABLE
    assert shown == []


async def test_email_recipients_each_get_their_view(service):
    share = await service.share_external(
        external(Audience.EMAIL, emails="bob@vendor.com\ncarol@example.org"), policy=OPEN)
    bob, carol = (email_principal(a) for a in ("bob@vendor.com", "carol@example.org"))
    assert share.record.recipients == (bob, carol)
    first, _ = await reveal(service, share.record, share.link_key, principal=bob)
    assert first.outcome is RevealOutcome.REVEALED
    assert not first.last_view
    assert (await reveal(service, share.record, share.link_key, principal=bob))[0].outcome \
        is RevealOutcome.UNAVAILABLE
    stranger = email_principal("eve@evil.example")
    assert (await reveal(service, share.record, share.link_key, principal=stranger))[0] \
        .outcome is RevealOutcome.NOT_RECIPIENT
    last, shown = await reveal(service, share.record, share.link_key, principal=carol)
    assert last.last_view
    assert shown == [SECRET]


async def test_a_passphrase_link_needs_both(service):
    share = await service.share_external(external(passphrase="correct horse"), policy=OPEN)
    wrong, shown = await reveal(service, share.record, share.link_key, passphrase="nope nope")
    assert wrong.outcome is RevealOutcome.WRONG_PASSPHRASE
    assert shown == []
    right, shown = await reveal(service, share.record, share.link_key,
                                passphrase="correct horse")
    assert right.outcome is RevealOutcome.REVEALED
    assert shown == [SECRET]


async def test_the_audience_is_sealed(service, store, redis_sync):
    """Taking the audience out in Redis (to pass a link secret off as a Slack one), or
    putting one on a Slack secret, breaks the seal."""
    share = await service.share_external(external(), policy=OPEN)
    redis_sync.hdel(KEYS.meta(share.record.secret_id), "aud")
    assert (await store.get(share.record.secret_id)).tampered
    slack = await service.share(ShareForm(team_id="T1", sender_id="UALICE",
                                          recipients=("UBOB",), text=SECRET),
                                people=_People())
    assert not (await store.get(slack.secret_id)).tampered
    redis_sync.hset(KEYS.meta(slack.secret_id), "aud", "link")
    assert (await store.get(slack.secret_id)).tampered


class _People:
    async def not_people(self, user_ids):
        return {}


# -- the workspace's policy -----------------------------------------------------------------


async def refusal(service, form, policy) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        await service.share_external(form, policy=policy)
    return caught.value.errors


async def test_policy_refusals_name_the_field_and_store_nothing(service, redis_sync):
    assert "audience" in await refusal(service, external(), ExternalPolicy(enabled=False))
    errors = await refusal(service, external(Audience.EMAIL, emails="bob@gmail.com, a@corp.com"),
                           ExternalPolicy(allowed_domains=("corp.com",)))
    assert errors["emails"] == ("Your workspace allows only addresses at corp.com. "
                                "Remove bob@gmail.com.")
    assert "passphrase" in await refusal(service, external(),
                                         ExternalPolicy(link_needs_passphrase=True))
    capped = ExternalPolicy(max_expiry_seconds=86400)
    errors = await refusal(service, external(expiry_seconds="604800"), capped)
    assert errors == {"expiry": "Secrets shared outside Slack can last at most 1 day in "
                                "this workspace."}
    assert "custom_expiry" in await refusal(service, external(custom_expiry="3d"), capped)
    assert stored_secrets(redis_sync) == []


async def test_an_allowed_domain_allows_its_subdomains(service):
    share = await service.share_external(
        external(Audience.EMAIL, emails="a@corp.com, b@eu.corp.com"),
        policy=ExternalPolicy(allowed_domains=("corp.com",)))
    assert len(share.record.recipients) == 2
    errors = await refusal(service, external(Audience.EMAIL, emails="c@notcorp.com"),
                           ExternalPolicy(allowed_domains=("corp.com",)))
    assert "notcorp.com" in errors["emails"]


async def test_every_usual_check_still_applies(service):
    errors = await refusal(service, external(text=" ", total_views="x", view_mode="total"),
                           OPEN)
    assert set(errors) == {"secret", "total_views"}
