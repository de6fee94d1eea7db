"""A workspace's external sharing policy: the environment's defaults, its admins' changes
in its settings hash (a real Redis), and what the share form offers."""

from __future__ import annotations

import pytest

from bot.domain import Audience
from bot.secrets.external import ExternalPolicy
from bot.storage import KeySpace, connect
from bot.storage.team_settings import NO_CAP, PolicyOverrides, TeamSettingsStore
from bot.workspaces.policy import ExternalSharing, PolicyProblem, changes, parse_change

DEFAULTS = ExternalPolicy(enabled=True, allowed_domains=("example.com",),
                          max_expiry_seconds=3 * 86400)


@pytest.fixture
async def store(redis_url, redis_sync):
    client = connect(redis_url)
    yield TeamSettingsStore(client, keys=KeySpace("ss"))
    await client.aclose()


def sharing(store, *, public_url="https://s.example.test", mail=True, installed=False):
    return ExternalSharing(store, public_url=public_url, mail=mail, defaults=DEFAULTS,
                           installed_settings=installed)


async def test_a_workspace_follows_the_defaults_until_its_admins_change_them(store):
    policies = sharing(store)
    assert await policies.policy_for("T1") == DEFAULTS
    view = await policies.change("T1", PolicyOverrides(allowed_domains=(),
                                                       link_needs_passphrase=True,
                                                       max_expiry_seconds=NO_CAP))
    assert view is not None
    assert view.policy == ExternalPolicy(enabled=True, allowed_domains=(),
                                         link_needs_passphrase=True, max_expiry_seconds=None)
    assert view.overrides.enabled is None  # still the default: it follows the environment
    assert await policies.policy_for("T2") == DEFAULTS  # another workspace is untouched


async def test_the_settings_hash_keeps_readable_policy_fields(store, redis_sync):
    await sharing(store).change("T1", PolicyOverrides(enabled=False,
                                                      allowed_domains=("a.com", "b.org"),
                                                      max_expiry_seconds=3600))
    assert redis_sync.hgetall("ss:team-settings:T1") == {
        b"policy:external": b"off", b"policy:domains": b"a.com,b.org",
        b"policy:max-expiry": b"3600"}


async def test_with_oauth_a_change_never_recreates_the_settings_of_an_uninstalled_workspace(
        store, redis_sync):
    """Settings exist while the workspace is installed; an uninstall racing a change
    must not leave settings without their install mark (the next install would not count
    as a first one)."""
    assert await sharing(store, installed=True).change(
        "T1", PolicyOverrides(enabled=False)) is None
    assert redis_sync.exists("ss:team-settings:T1") == 0
    await store.first_install("T1", "U1", installed_before=False)
    view = await sharing(store, installed=True).change("T1", PolicyOverrides(enabled=False))
    assert view is not None
    assert view.policy.enabled is False


async def test_the_form_offers_what_the_deployment_and_the_policy_allow(store):
    assert await sharing(store).audiences("T1") == (Audience.WORKSPACE, Audience.EMAIL,
                                                    Audience.LINK)
    assert await sharing(store, mail=False).audiences("T1") == (Audience.WORKSPACE,
                                                                Audience.LINK)
    assert await sharing(store, public_url=None).audiences("T1") == (Audience.WORKSPACE,)
    await sharing(store).change("T1", PolicyOverrides(enabled=False))
    assert await sharing(store).audiences("T1") == (Audience.WORKSPACE,)


@pytest.mark.parametrize(("text", "parsed"), [
    ("external off", PolicyOverrides(enabled=False)),
    ("EXTERNAL On", PolicyOverrides(enabled=True)),
    ("domains Example.com, @vendor.com", PolicyOverrides(allowed_domains=("example.com",
                                                                          "vendor.com"))),
    ("domains any", PolicyOverrides(allowed_domains=())),
    ("link-passphrase on", PolicyOverrides(link_needs_passphrase=True)),
    ("max-expiry 12h", PolicyOverrides(max_expiry_seconds=12 * 3600)),
    ("max-expiry none", PolicyOverrides(max_expiry_seconds=NO_CAP)),
    ("external sometimes", PolicyProblem.SWITCH),
    ("domains", PolicyProblem.DOMAINS),
    ("domains exa mple", PolicyProblem.DOMAINS),
    ("max-expiry 31d", PolicyProblem.EXPIRY),
    ("max-expiry 1m", PolicyProblem.EXPIRY),
    ("colour blue", PolicyProblem.UNKNOWN),
])
def test_admin_policy_text(text, parsed):
    assert parse_change(text) == parsed


def test_only_what_differs_from_the_policy_is_a_change():
    wanted = PolicyOverrides(enabled=True, allowed_domains=("example.com",),
                             link_needs_passphrase=True, max_expiry_seconds=3 * 86400)
    assert changes(DEFAULTS, wanted) == PolicyOverrides(link_needs_passphrase=True)
    assert changes(ExternalPolicy(), PolicyOverrides(max_expiry_seconds=NO_CAP)) == \
        PolicyOverrides()
