"""End to end with OAuth: two workspaces install the real bot process through
/slack/install and /slack/oauth_redirect, then share, reveal and audit, each with its
own token and channel, never crossing; uninstalling deletes the installation."""

from __future__ import annotations

import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from devtools.harness.bot_process import BotProcess
from devtools.harness.payloads import API_APP_ID
from devtools.harness.slack_client import SlackSim
from devtools.slack_stand_in import SlackStandIn
from tests.conftest import SIGNING_SECRET, TEST_KEYS, redis_contents

pytestmark = pytest.mark.e2e

CLIENT_ID, CLIENT_SECRET = "1111111111.2222222222", "0a1b2c3d4e5f-oauth-client-secret"
REDIRECT = "https://share-secret.example.com/slack/oauth_redirect"
A_ALICE, A_BOB, A_GENERAL, A_AUDIT = "U0AALICE", "U0ABOB", "C0AGENERAL", "C0AAUDIT"
B_XAVI, B_YVES, B_GENERAL, B_AUDIT = "U0BXAVI", "U0BYVES", "C0BGENERAL", "C0BAUDIT"
SECRET_A, SECRET_B = "acme-db-password-7f3k", "beta-api-key-q9w8e7"
PREFIX = "ssoauth"


@pytest.fixture(scope="module")
def teams():
    """One stand-in serving two workspaces the app is not yet installed in."""
    with SlackStandIn(bot_token="xoxb-1-1-acmeunusedbeforeinstall", team_id="T0ACME",
                      team_domain="acme") as slack:
        slack.configure_oauth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        slack.uninstall()  # acme's token exists only once an install asks for it
        beta = slack.add_workspace("T0BETA", "beta", bot_user_id="UBOTBETA", bot_id="B0BETA")
        for team, users, general, audit in [(slack, (A_ALICE, A_BOB), A_GENERAL, A_AUDIT),
                                            (beta, (B_XAVI, B_YVES), B_GENERAL, B_AUDIT)]:
            for user in users:
                team.add_user(user, user.lower())
            team.add_channel(general, "general", members=users)
            team.add_channel(audit, "share-secret-audit", members=users[:1])
        yield slack, beta


@pytest.fixture(scope="module")
def oauth_bot(teams, redis_url, tmp_path_factory):
    slack, _ = teams
    env = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
           "SLACK_REDIRECT_URI": REDIRECT, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.base_url, "REDIS_URL": redis_url,
           "ENCRYPTION_KEYS": TEST_KEYS, "LOG_LEVEL": "DEBUG",
           "AUDIT_POST_INTERVAL_SECONDS": "0.05",
           # A deployment of its own: other tests' bots on this Redis (the "ss" prefix)
           # must not hold its audit lease.
           "REDIS_KEY_PREFIX": PREFIX}
    with BotProcess(env, workdir=tmp_path_factory.mktemp("oauth-bot")) as bot:
        yield bot


def browse(bot: BotProcess, path: str, cookie: str | None = None
           ) -> tuple[int, str, dict[str, str]]:
    """A browser's GET: (status, body, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read().decode(), {
            k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def start_install(bot: BotProcess) -> tuple[str, str]:
    """Open /slack/install: (the state in the authorize URL, the cookie the page set)."""
    status, page, headers = browse(bot, "/slack/install")
    assert status == 200
    url = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page).group(1)
    query = parse_qs(urlsplit(url.replace("&amp;", "&")).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == ["commands,chat:write,im:write,users:read"]
    assert query["redirect_uri"] == [REDIRECT]
    state = query["state"][0]
    cookie = headers["set-cookie"].split(";")[0]
    assert cookie == f"slack-app-oauth-state={state}"
    return state, cookie


def finish_install(bot: BotProcess, code: str, state: str, cookie: str) -> tuple[int, str]:
    status, page, _ = browse(bot, "/slack/oauth_redirect?" + urlencode(
        {"code": code, "state": state}), cookie=cookie)
    return status, page


def install(bot: BotProcess, team: SlackStandIn, installer: str) -> None:
    state, cookie = start_install(bot)
    status, page = finish_install(bot, team.approve_install(installer, redirect_uri=REDIRECT),
                                  state, cookie)
    assert status == 200, page
    assert "Thank you" in page


def token_of(call) -> str:
    return call.headers.get("Authorization", "").removeprefix("Bearer ")


def audit_posts(slack: SlackStandIn, channel: str):
    return [c for c in slack.calls_to("chat.postMessage")
            if c.ok and c.params.get("channel") == channel]


def wait_audit(slack: SlackStandIn, channel: str, needle: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in audit_posts(slack, channel) if needle in c.params.get("text", "")]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no audit post with {needle!r} in {channel}: "
                         f"{[c.params.get('text') for c in audit_posts(slack, channel)]}")


def share_and_reveal(sim: SlackSim, sender: str, recipient: str, channel: str,
                     secret: str) -> tuple[object, dict, str]:
    command = sim.slash_command(sender, channel)
    assert command.status == 200
    form = sim.opened_view(command.trigger_id)
    assert sim.submit(sender, form, recipients=[recipient], secret=secret).status == 200
    message, button = sim.reveal_prompt(recipient)
    click = sim.click(recipient, message, button)
    assert click.status == 200
    shown = sim.shown_view(click.trigger_id)
    assert secret in json.dumps(shown)
    return message, button, click.trigger_id


def uninstalled_event(team: SlackStandIn) -> bytes:
    return json.dumps({
        "token": "deprecated-verification-token", "team_id": team.team_id,
        "api_app_id": API_APP_ID, "type": "event_callback", "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
        "event": {"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"}}).encode()


def test_two_workspaces_install_share_reveal_audit_and_never_cross(teams, oauth_bot,
                                                                    redis_sync):
    """Both workspaces install through OAuth; each shares, reveals and audits with its own
    token and channel; a payload from one naming the other's secret is refused and
    audited; a reused or forged state is refused; uninstalling deletes the installation;
    Redis never holds a bot token in plaintext."""
    acme, beta = teams
    install(oauth_bot, acme, A_ALICE)
    install(oauth_bot, beta, B_XAVI)
    tokens = {"T0ACME": acme.bot_token, "T0BETA": beta.bot_token}
    assert tokens["T0ACME"] != tokens["T0BETA"]
    assert all(t.startswith("xoxb-") for t in tokens.values())
    # The installer is welcomed by DM, with its own workspace's token.
    for team, installer in [(acme, A_ALICE), (beta, B_XAVI)]:
        dm = team.wait_for("conversations.open",
                           where=lambda c, u=installer: c.params.get("users") == u)[0]
        assert token_of(dm) == team.bot_token

    # Each workspace's first admin (its installer) picks its audit channel; a channel of
    # the other workspace is refused (the bot cannot post there with this token).
    sim_a = SlackSim(bot=oauth_bot, slack=acme, signing_secret=SIGNING_SECRET)
    sim_b = SlackSim(bot=oauth_bot, slack=beta, signing_secret=SIGNING_SECRET,
                     team_domain="beta")
    sim_b.slash_command(B_XAVI, B_GENERAL, f"admin channel <#{A_AUDIT}|share-secret-audit>")
    refused = beta.wait_for("response_url", where=lambda c: "can't post" in json.dumps(
        c.params))[0]
    assert "channel_not_found" in refused.params["text"]
    for sim, admin, general, audit in [(sim_a, A_ALICE, A_GENERAL, A_AUDIT),
                                       (sim_b, B_XAVI, B_GENERAL, B_AUDIT)]:
        reply = sim.slash_command(admin, general, f"admin channel <#{audit}|audit>")
        assert reply.status == 200
        sim.slack.wait_for("response_url", where=lambda c, a=audit: f"<#{a}>" in json.dumps(
            c.params) and "now go to" in json.dumps(c.params))

    # Each workspace shares and reveals with its own token.
    message_a, button_a, _ = share_and_reveal(sim_a, A_ALICE, A_BOB, A_GENERAL, SECRET_A)
    share_and_reveal(sim_b, B_XAVI, B_YVES, B_GENERAL, SECRET_B)
    # A reveal from beta naming acme's secret (its id copied) is refused and audited in beta.
    forged = sim_b.click(B_YVES, message_a, button_a)
    assert forged.status == 200
    shown = sim_b.shown_view(forged.trigger_id)
    assert SECRET_A not in json.dumps(shown)
    assert "no longer available" in json.dumps(shown)  # read as a missing secret
    wait_audit(beta, B_AUDIT, "from another workspace")

    wait_audit(acme, A_AUDIT, "Secret opened")
    wait_audit(beta, B_AUDIT, "Secret opened")
    for call in acme.calls:
        if call.method.startswith(("chat.", "views.", "conversations.", "users.")):
            team = "T0ACME" if token_of(call) == tokens["T0ACME"] else "T0BETA"
            assert token_of(call) == tokens[team], call.describe()
    a_lines = "\n".join(c.params["text"] for c in audit_posts(acme, A_AUDIT))
    b_lines = "\n".join(c.params["text"] for c in audit_posts(acme, B_AUDIT))
    assert all(token_of(c) == tokens["T0ACME"] for c in audit_posts(acme, A_AUDIT))
    assert all(token_of(c) == tokens["T0BETA"] for c in audit_posts(acme, B_AUDIT))
    assert A_ALICE in a_lines
    assert A_BOB in a_lines
    assert B_XAVI in b_lines
    assert B_YVES in b_lines
    assert not any(u in a_lines for u in (B_XAVI, B_YVES))
    assert not any(u in b_lines for u in (A_ALICE, A_BOB))
    for secret in (SECRET_A, SECRET_B):
        assert secret not in a_lines + b_lines

    # A used state, or one never issued, installs nothing and says why.
    state, cookie = start_install(oauth_bot)
    code = beta.approve_install(B_XAVI, redirect_uri=REDIRECT)
    assert finish_install(oauth_bot, code, state, cookie)[0] == 200
    status, page = finish_install(oauth_bot, beta.approve_install(B_XAVI,
                                                                  redirect_uri=REDIRECT),
                                  state, cookie)
    assert status == 401
    assert "invalid_state" in page
    status, page = finish_install(oauth_bot, beta.approve_install(B_XAVI,
                                                                  redirect_uri=REDIRECT),
                                  "forged-state", "slack-app-oauth-state=forged-state")
    assert status == 401
    assert "invalid_state" in page

    # No token in Redis in plaintext; installations are stored (encrypted) per workspace.
    contents = b"\n".join(redis_contents(redis_sync))
    for token in tokens.values():
        assert token.encode() not in contents
    assert redis_sync.exists(f"{PREFIX}:install:{{T-T0BETA}}:bot")

    # Beta removes the app: its installation is deleted; acme is untouched.
    beta.uninstall()
    reply = sim_b.post(uninstalled_event(beta), content_type="application/json")
    assert reply.status == 200
    deadline = time.monotonic() + 5
    beta_bot = f"{PREFIX}:install:{{T-T0BETA}}:bot"
    while redis_sync.exists(beta_bot) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [k for k in redis_sync.scan_iter(f"{PREFIX}:install:{{T-T0BETA}}*")]
    assert redis_sync.exists(f"{PREFIX}:install:{{T-T0ACME}}:bot")
    share_and_reveal(sim_a, A_ALICE, A_BOB, A_GENERAL, "still-works-after-beta-left")


# -- who becomes an admin, and what an install may write (issue 13: 1, 9, 10) ---------

REFUSED = "Only share-secret admins can do that"


def new_workspace(slack: SlackStandIn, bot: BotProcess, team_id: str, *,
                  users: dict[str, dict] | None = None) -> tuple[SlackStandIn, SlackSim]:
    """A workspace of its own for one test (the app not yet installed): ann and mel are
    plain members, wade a workspace admin; #general, #audit-old and #audit-new."""
    domain = team_id.lower()
    team = slack.add_workspace(team_id, domain, bot_user_id=f"UB{team_id}",
                               bot_id=f"B{team_id}")
    people = {"ANN": {}, "MEL": {}, "WADE": {"is_admin": True}, **(users or {})}
    for name, extra in people.items():
        team.add_user(f"U{name}{team_id}", name.lower(), **extra)
    members = [f"U{name}{team_id}" for name in people]
    team.add_channel(f"CGEN{team_id}", "general", members=members)
    team.add_channel(f"COLD{team_id}", "audit-old", members=members[:1])
    team.add_channel(f"CNEW{team_id}", "audit-new", members=members[:1])
    return team, SlackSim(bot=bot, slack=team, signing_secret=SIGNING_SECRET,
                          team_domain=domain)


@pytest.fixture
def fresh(teams, oauth_bot, redis_sync):
    """new_workspace on the module's stand-in and bot; Redis flushed around the test."""
    return lambda team_id, **kw: new_workspace(teams[0], oauth_bot, team_id, **kw)


def user(team: SlackStandIn, name: str) -> str:
    return f"U{name}{team.team_id}"


def admins_in_redis(redis_sync, team: SlackStandIn) -> set[str]:
    fields = redis_sync.hkeys(f"{PREFIX}:team-settings:{team.team_id}")
    return {f.decode()[len("admin:"):] for f in fields if f.startswith(b"admin:")}


def is_refused(sim: SlackSim, who: str) -> bool:
    reply = sim.slash_command(who, f"CGEN{sim.slack.team_id}", "admin list")
    assert reply.status == 200
    return REFUSED in reply.json()["text"]


def dm_texts(team: SlackStandIn, who: str, needle: str, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dm = team.dm_of(who)
        found = [c.params.get("text", "") for c in team.calls_to("chat.postMessage")
                 if c.ok and dm and c.params.get("channel") == dm
                 and needle in c.params.get("text", "")]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no DM to {who} saying {needle!r}")


def test_only_the_first_install_makes_its_installer_an_admin(fresh, oauth_bot, redis_sync):
    """Of two first installs at once exactly one installer becomes an admin; installing
    again makes a plain member nothing (she cannot list or revoke secrets, and is told
    so), while a workspace admin who installs again is added to the admin list."""
    gamma, sim = fresh("T0GAMMA")
    ann, mel, wade = user(gamma, "ANN"), user(gamma, "MEL"), user(gamma, "WADE")
    pending = [(start_install(oauth_bot), gamma.approve_install(who, redirect_uri=REDIRECT))
               for who in (ann, mel)]
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda p: finish_install(oauth_bot, p[1], *p[0]), pending))
    assert [status for status, _ in pages] == [200, 200], pages
    first = admins_in_redis(redis_sync, gamma)
    assert len(first) == 1, first
    [winner] = first
    loser = mel if winner == ann else ann
    assert not is_refused(sim, winner)
    assert is_refused(sim, loser)
    dm_texts(gamma, winner, "You are its first admin")
    dm_texts(gamma, loser, "does not make you one of its admins")

    install(oauth_bot, gamma, loser)  # again, alone this time
    assert is_refused(sim, loser)
    assert admins_in_redis(redis_sync, gamma) == {winner}
    install(oauth_bot, gamma, wade)
    assert admins_in_redis(redis_sync, gamma) == {winner, wade}
    dm_texts(gamma, wade, "You are one of its admins")


def test_moving_the_audit_channel_is_said_in_the_old_channel_too(fresh, oauth_bot):
    """An admin who moves the audit channel cannot do it quietly: the old channel is told
    where the events went, and the new one gets the audit line of the move."""
    delta, sim = fresh("T0DELTA")
    ann, old, new = user(delta, "ANN"), "COLDT0DELTA", "CNEWT0DELTA"
    install(oauth_bot, delta, ann)
    for channel in (old, new):
        assert sim.slash_command(ann, "CGENT0DELTA",
                                 f"admin channel <#{channel}|x>").status == 200
        delta.wait_for("response_url", where=lambda c, ch=channel: f"<#{ch}>" in json.dumps(
            c.params) and "now go to" in json.dumps(c.params))
    told = wait_audit(delta, old, "moved share-secret's audit events")
    assert f"<#{new}>" in told[0].params["text"]
    assert f"<@{ann}>" in told[0].params["text"]
    wait_audit(delta, new, f"audit channel moved from {old} to {new}")


def test_uninstalling_forgets_the_workspace_settings_and_admins(fresh, oauth_bot, redis_sync):
    """app_uninstalled deletes the workspace's audit channel and admins: the next install
    is a first install, whose installer is the only admin."""
    eps, sim = fresh("T0EPS")
    ann, mel = user(eps, "ANN"), user(eps, "MEL")
    install(oauth_bot, eps, ann)
    assert sim.slash_command(ann, "CGENT0EPS", "admin channel <#COLDT0EPS|x>").status == 200
    eps.wait_for("response_url", where=lambda c: "<#COLDT0EPS>" in json.dumps(c.params)
                 and "now go to" in json.dumps(c.params))
    settings_key = f"{PREFIX}:team-settings:T0EPS"
    assert redis_sync.hget(settings_key, "audit_channel") == b"COLDT0EPS"

    eps.uninstall()
    assert sim.post(uninstalled_event(eps), content_type="application/json").status == 200
    deadline = time.monotonic() + 5
    while redis_sync.exists(settings_key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not redis_sync.exists(settings_key)

    install(oauth_bot, eps, mel)
    assert admins_in_redis(redis_sync, eps) == {mel}
    assert redis_sync.hget(settings_key, "audit_channel") is None
    assert is_refused(sim, ann)
    assert not is_refused(sim, mel)


def test_a_workspace_installed_before_this_release_gets_no_first_admin(fresh, oauth_bot,
                                                                       redis_sync):
    """A workspace installed before settings kept an install mark: its installation is
    stored, its settings hash lacks `installed` or is gone. A plain member who installs
    again is not made an admin either way, and is told so; existing settings gain the
    mark."""
    eta, sim = fresh("T0ETA")
    ann, mel, wade = user(eta, "ANN"), user(eta, "MEL"), user(eta, "WADE")
    install(oauth_bot, eta, ann)
    settings_key = f"{PREFIX}:team-settings:T0ETA"
    assert redis_sync.exists(f"{PREFIX}:install:{{T-T0ETA}}:latest")

    redis_sync.delete(settings_key)  # no settings at all
    install(oauth_bot, eta, mel)
    assert is_refused(sim, mel)
    assert admins_in_redis(redis_sync, eta) == set()
    dm_texts(eta, mel, "does not make you one of its admins")

    redis_sync.hset(settings_key, f"admin:{ann}", "1")  # admins but no install mark
    install(oauth_bot, eta, mel)
    assert is_refused(sim, mel)
    assert admins_in_redis(redis_sync, eta) == {ann}
    assert redis_sync.hget(settings_key, "installed") == b""
    install(oauth_bot, eta, wade)  # a workspace admin still joins the list
    assert admins_in_redis(redis_sync, eta) == {ann, wade}


def test_installs_at_once_in_other_workspaces_each_get_their_own_answer(fresh, oauth_bot,
                                                                        redis_sync):
    """What an install noted about its own workspace (installed before or not) is never
    another's: first installs of new workspaces and reinstalls of older ones (settings
    gone), all at once, make exactly the new workspaces' installers admins."""
    new = [fresh(f"T0NEW{n}")[0] for n in range(3)]
    old = [fresh(f"T0OLD{n}")[0] for n in range(3)]
    for team in old:
        install(oauth_bot, team, user(team, "ANN"))
        redis_sync.delete(f"{PREFIX}:team-settings:{team.team_id}")
    pending = [(start_install(oauth_bot),
                team.approve_install(user(team, "MEL"), redirect_uri=REDIRECT))
               for pair in zip(new, old, strict=True) for team in pair]
    with ThreadPoolExecutor(len(pending)) as pool:
        pages = list(pool.map(lambda p: finish_install(oauth_bot, p[1], *p[0]), pending))
    assert [status for status, _ in pages] == [200] * len(pending), pages
    for team in new:
        assert admins_in_redis(redis_sync, team) == {user(team, "MEL")}
    for team in old:
        assert admins_in_redis(redis_sync, team) == set()


def test_removing_the_last_admin_of_an_older_workspace_is_no_way_in(fresh, oauth_bot,
                                                                    redis_sync):
    """Settings from before the install mark hold only admin fields. When a workspace
    admin removes the last listed one, the workspace stays installed: a member who then
    installs again is not made its first admin."""
    theta, sim = fresh("T0THETA")
    ann, mel, wade = user(theta, "ANN"), user(theta, "MEL"), user(theta, "WADE")
    install(oauth_bot, theta, ann)
    settings_key = f"{PREFIX}:team-settings:T0THETA"
    redis_sync.hdel(settings_key, "installed")
    assert redis_sync.hkeys(settings_key) == [f"admin:{ann}".encode()]

    reply = sim.slash_command(wade, "CGENT0THETA", f"admin remove <@{ann}|ann>")
    assert reply.status == 200
    assert "no longer on this workspace's admin list" in reply.json()["text"]

    install(oauth_bot, theta, mel)
    assert is_refused(sim, mel)
    assert is_refused(sim, ann)
    assert admins_in_redis(redis_sync, theta) == set()
    dm_texts(theta, mel, "does not make you one of its admins")
    assert redis_sync.hgetall(settings_key) == {b"installed": b""}  # the mark stayed


def test_a_guest_who_administers_another_workspace_is_no_admin_here(fresh, oauth_bot):
    """users.info's is_admin / is_owner count only for the request's own team: a Slack
    Connect guest who administers their own workspace, or a stranger, is refused."""
    zeta, sim = fresh("T0ZETA", users={
        "GUEST": {"team_id": "T0ELSEWHERE", "is_admin": True},
        "STRANGE": {"team_id": "T0ELSEWHERE", "is_owner": True, "is_stranger": True}})
    install(oauth_bot, zeta, user(zeta, "ANN"))
    assert is_refused(sim, user(zeta, "GUEST"))
    assert is_refused(sim, user(zeta, "STRANGE"))
    assert is_refused(sim, user(zeta, "MEL"))
    assert not is_refused(sim, user(zeta, "WADE"))  # an admin of this very workspace


def test_the_install_page_writes_nothing_and_a_state_is_good_once(fresh, oauth_bot,
                                                                   redis_sync):
    """Anonymous visits of /slack/install write no Redis key; a callback's state must be
    genuine (a tampered or 10-minute-old one is refused) and is good once."""
    from bot.crypto import StaticKeyRing, oauth_state, parse_keys

    eta, _ = fresh("T0ETA")
    ann = user(eta, "ANN")
    # The audit outbox's lease and cursor, and the sweep's reminder cursor, come and go on
    # their own schedule.
    def written() -> set[bytes]:
        return {k for k in redis_sync.scan_iter()
                if b"{audit}" not in k and not k.endswith(b":reminded-until")}

    before = written()
    states = [start_install(oauth_bot) for _ in range(60)]
    assert written() == before
    assert len({s for s, _ in states}) == 60

    keyring = StaticKeyRing(parse_keys(TEST_KEYS))
    key_id, at, nonce, mac = states[0][0].split(".")
    tampered = f"{key_id}.{int(at) + 1}.{nonce}.{mac}"
    stale = oauth_state.issue(keyring, now=time.time() - 601)
    for bad in (tampered, stale):
        code = eta.approve_install(ann, redirect_uri=REDIRECT)
        status, page = finish_install(oauth_bot, code, bad, f"slack-app-oauth-state={bad}")
        assert status == 401, page
        assert "invalid_state" in page
    assert written() == before  # refused callbacks write nothing either

    state, cookie = states[1]
    assert finish_install(oauth_bot, eta.approve_install(ann, redirect_uri=REDIRECT),
                          state, cookie)[0] == 200
    status, page = finish_install(oauth_bot, eta.approve_install(ann, redirect_uri=REDIRECT),
                                  state, cookie)
    assert status == 401
    assert "invalid_state" in page
    marks = list(redis_sync.scan_iter(f"{PREFIX}:oauth-state:*"))
    assert len(marks) == 1
    assert 0 < redis_sync.ttl(marks[0]) <= 600


def test_an_org_wide_install_is_refused(fresh, oauth_bot, redis_sync):
    """An Enterprise Grid org-wide install (keyed by the organisation, while requests name
    workspaces) is refused with a page saying why; nothing is stored, nobody is made an
    admin."""
    theta, _ = fresh("T0THETA")
    state, cookie = start_install(oauth_bot)
    code = theta.approve_install(user(theta, "ANN"), redirect_uri=REDIRECT, org_wide="E0GRID")
    status, page = finish_install(oauth_bot, code, state, cookie)
    assert status == 400, page
    assert "Enterprise Grid organisation" in page
    assert "Nothing was installed" in page
    assert not list(redis_sync.scan_iter(f"{PREFIX}:install:*"))
    assert not list(redis_sync.scan_iter(f"{PREFIX}:team-settings:*"))
