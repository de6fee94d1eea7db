"""Every Redis key name share-secret uses, built in one place.

A secret's keys are named by its handle: the share code's 12 characters, which start
its id (so the code finds the secret without an index of its own). They share the hash
tag `{handle}`, so multi-key scripts stay within one Redis Cluster slot. Indexes are
keys of their own and hold handles.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import HANDLE_LEN, AuditEvent


def handle(secret: str) -> str:
    """The storage handle of a secret id (or of a share code, with or without dashes)."""
    return secret.replace("-", "")[:HANDLE_LEN]


@dataclass(frozen=True)
class KeySpace:
    """Key names under one prefix (so several deployments can share a Redis)."""

    prefix: str = "ss"

    def ciphertext(self, secret: str) -> str:
        return f"{self.prefix}:{{{handle(secret)}}}:c"

    def meta(self, secret: str) -> str:
        return f"{self.prefix}:{{{handle(secret)}}}:m"

    def every_meta(self) -> str:
        """SCAN pattern: every secret's metadata hash (for the operator's counts)."""
        return f"{self.prefix}:{{*}}:m"

    def failures(self, secret: str) -> str:
        """Wrong passphrases within the current window, as earlier releases counted them
        (still read, so that an upgrade forgets none; see `guesses`)."""
        return f"{self.prefix}:{{{handle(secret)}}}:f"

    def guesses(self, secret: str) -> str:
        """Sorted set: passphrase guesses counted within the last window, by when (ms):
        "p:<guess>" being checked, "w:<guess>" found wrong."""
        return f"{self.prefix}:{{{handle(secret)}}}:g"

    def lock(self, secret: str) -> str:
        """Present while the secret is locked after too many wrong passphrases."""
        return f"{self.prefix}:{{{handle(secret)}}}:l"

    def withdrawn(self, secret: str) -> str:
        """Present when a share whose storing timed out was called off: a late write of
        it (Redis answered after the bot gave up) then stores nothing."""
        return f"{self.prefix}:{{{handle(secret)}}}:w"

    def owed(self, secret: str) -> str:
        """Hash: audit events a change of the secret implies, not yet in the audit stream
        (bot.storage.owed), by nonce."""
        return f"{self.prefix}:{{{handle(secret)}}}:o"

    def web_code(self, secret: str, who: str, ticket: str) -> str:
        """Hash: one one-time code mailed to an email recipient, as a keyed digest, and its
        wrong tries. `who` is a keyed digest of the address (never the address), `ticket`
        one of the request's ticket: each request's code is tried only with its own."""
        return f"{self.prefix}:{{{handle(secret)}}}:k:{who}:{ticket}"

    def page_seen(self, secret: str) -> str:
        """Present for a while after the web page of a secret was opened: the "page
        opened" audit event is recorded at most once per while."""
        return f"{self.prefix}:{{{handle(secret)}}}:p"

    def link_reveals(self, secret: str) -> str:
        """Sorted set: the web page's reveal attempts on one secret by holders of its link,
        by when (ms): the secret's own limit, however many addresses they come from."""
        return f"{self.prefix}:{{{handle(secret)}}}:r"

    def owed_index(self) -> str:
        """Sorted set: handles of secrets that may owe audit events, by when (the sweep
        appends those a dead process left)."""
        return f"{self.prefix}:owed"

    def expiries(self) -> str:
        """Sorted set: ids by expiry time (a sweep costs what expired, not what is stored)."""
        return f"{self.prefix}:expiries"

    def claims(self) -> str:
        """Sorted set: "handle|user" of views handed out, by when (to return stale ones)."""
        return f"{self.prefix}:claims"

    def undelivered(self) -> str:
        """Sorted set: handles of secrets whose Reveal messages are being sent, by when
        that started (the sweep sends again those a process died delivering)."""
        return f"{self.prefix}:undelivered"

    def reminded_until(self) -> str:
        """The expiry time up to which reminders have been looked for (a sweep cursor)."""
        return f"{self.prefix}:reminded-until"

    def by_team(self, team_id: str) -> str:
        """Sorted set: a workspace's secret ids by creation time (for admins)."""
        return f"{self.prefix}:team:{team_id}"

    def by_sender(self, team_id: str, user_id: str) -> str:
        """Sorted set: one sender's secret ids by creation time."""
        return f"{self.prefix}:sent:{team_id}:{user_id}"

    # -- storage quotas ---------------------------------------------------------------
    # Every quota key shares the hash tag {quota}: one script checks a sender's and their
    # workspace's use and reserves room in both, atomically, in Redis Cluster too (a
    # secret's own keys are in its handle's slot, so the reservation is a step of its own
    # just before the secret is stored; see bot.storage.quota). `owner` is a workspace
    # ("T…") or one sender in it ("T…:U…").

    def quota_held(self, owner: str) -> str:
        """Sorted set: handles of a sender's active secrets, each scored by its expiry time
        and its size (bot.storage.quota packs both in one score)."""
        return f"{self.prefix}:quota:{{quota}}:{owner}:held"

    def quota_kept(self, owner: str) -> str:
        """Sorted set: handles of a sender's ended secrets whose metadata is still kept,
        each scored by the time it goes and its size (packed as in `quota_held`)."""
        return f"{self.prefix}:quota:{{quota}}:{owner}:kept"

    def quota_sizes(self, owner: str) -> str:
        """Hash: an owner's sums: bytes (field `*`) and, for a workspace, secrets (`n`)."""
        return f"{self.prefix}:quota:{{quota}}:{owner}:sizes"

    def quota_senders(self, team_id: str) -> str:
        """Sorted set: a workspace's senders who hold secrets or kept metadata, by the
        earliest time in their `quota_held` and `quota_kept` sets."""
        return f"{self.prefix}:quota:{{quota}}:{team_id}:senders"

    def quota_use(self, scope: str) -> str:
        """Sorted set: owners of one scope ("sender" or "workspace") by their use of their
        caps (the larger fraction of the two: secrets and bytes), for the metrics."""
        return f"{self.prefix}:quota:{{quota}}:use:{scope}"

    # -- several workspaces (OAuth) -------------------------------------------------
    # An installation's keys share the hash tag {enterprise:team}, so deleting them all
    # is one multi-key step in Redis Cluster too. Values are encrypted (they hold tokens).

    def installation(self, owner: str) -> str:
        """The latest installation of a workspace or organisation (`owner`: "E:T")."""
        return f"{self.prefix}:install:{{{owner}}}:latest"

    def user_installation(self, owner: str, user_id: str) -> str:
        """The latest installation by one user."""
        return f"{self.prefix}:install:{{{owner}}}:user:{user_id}"

    def installers(self, owner: str) -> str:
        """Set: users with an installation of their own (to delete them all)."""
        return f"{self.prefix}:install:{{{owner}}}:users"

    def bot(self, owner: str) -> str:
        """The latest bot (token, scopes, ids) of a workspace or organisation."""
        return f"{self.prefix}:install:{{{owner}}}:bot"

    def sealed_installations(self) -> str:
        """A SCAN pattern matching every installation key; those holding strings are
        sealed with the key ring (key rotation re-encrypts them)."""
        return f"{self.prefix}:install:*"

    def oauth_state(self, nonce: str) -> str:
        """A mark that the OAuth `state` with this nonce was used (set by its callback,
        alive as long as the state would be; /slack/install itself writes nothing)."""
        return f"{self.prefix}:oauth-state:{nonce}"

    def team_settings(self, team_id: str) -> str:
        """Hash: a workspace's own settings (audit channel, admins, external sharing policy)."""
        return f"{self.prefix}:team-settings:{team_id}"

    def rate(self, action: str, team_id: str, user_id: str) -> str:
        """Sorted set: one person's recent attempts at an action (a rate limit's window).
        Tagged by person, like `attempt`, so that one script checks both."""
        return f"{self.prefix}:rate:{action}:{{{team_id}:{user_id}}}"

    def home_seen(self, team_id: str, user_id: str) -> str:
        """A mark that this person has opened the app's Home tab (bot.storage.home_seen),
        in their slot."""
        return f"{self.prefix}:home-seen:{{{team_id}:{user_id}}}"

    def attempt(self, action: str, team_id: str, user_id: str, token: str) -> str:
        """A marker that one person's attempt named `token` (a click's trigger id) was
        already taken in, in the slot of their rate window."""
        return f"{self.prefix}:once:{action}:{{{team_id}:{user_id}}}:{token}"

    # Refusal counters share the hash tag {refusals} with the index of summaries due, so
    # that counting a refusal and noting its window's summary is one step in Cluster too.

    def refusals(self, team_id: str, user_id: str, window: int) -> str:
        """How many refusals one person met in one window (numbered from the epoch): the
        first few are audited one by one, the rest counted (bot.audit.refusals)."""
        return f"{self.prefix}:refusals:{{refusals}}:{team_id}:{user_id}:{window}"

    def seals_done(self) -> str:
        """String: when `keys seal` sealed the secrets stored before seals (it runs once)."""
        return f"{self.prefix}:seals-done"

    def refusals_due(self) -> str:
        """Sorted set: windows whose merged refusals still owe their summary event
        (`team|user|window`), by when it is due; left once it is recorded."""
        return f"{self.prefix}:refusals:{{refusals}}:due"

    # API tokens (bot.storage.api_tokens) share the hash tag {api-tokens}, so that creating
    # and revoking one (its record and its workspace's index) is one script in Cluster too.

    def api_token(self, digest: str) -> str:
        """Hash: one API token's sealed record, named by the SHA-256 of its bearer text
        (never the text itself): what every API request looks up."""
        return f"{self.prefix}:api-tokens:{{api-tokens}}:token:{digest}"

    def api_tokens(self, team_id: str) -> str:
        """Hash: a workspace's live API tokens: `i:ID` -> digest, `n:NAME` -> id."""
        return f"{self.prefix}:api-tokens:{{api-tokens}}:team:{team_id}"

    def every_api_token(self) -> str:
        """SCAN pattern: every API token's record (key rotation re-seals them)."""
        return f"{self.prefix}:api-tokens:{{api-tokens}}:token:*"

    def once(self, kind: str, *parts: str) -> str:
        """A marker that something Slack may deliver twice (a form submission, an event,
        a click) was already taken in: `kind` names what, `parts` identify it."""
        return f"{self.prefix}:once:{kind}:" + ":".join(parts)


@dataclass(frozen=True)
class AuditKeys:
    """The audit log's keys: the stream, its outbox cursor, lease and pending batches,
    retry marks, and the lookup indexes."""

    prefix: str = "ss"

    # One hash tag for the keys, so the scripts run in one Cluster slot.
    @property
    def stream(self) -> str:
        return f"{self.prefix}:{{audit}}:events"

    @property
    def cursor(self) -> str:
        return f"{self.prefix}:{{audit}}:delivered"

    @property
    def lease(self) -> str:
        return f"{self.prefix}:{{audit}}:lease"

    @property
    def pending(self) -> str:
        return f"{self.prefix}:{{audit}}:pending"

    def mark(self, nonce: str) -> str:
        """The key naming the entry appended with this nonce (APPEND)."""
        return f"{self.prefix}:{{audit}}:n:{nonce}"

    # Indexes of entry ids (sorted sets, by milliseconds), written with each entry.
    def by_team(self, team_id: str) -> str:
        """A workspace's entries."""
        return f"{self.prefix}:{{audit}}:team:{team_id}"

    def by_actor(self, team_id: str, user_id: str) -> str:
        """The entries of what one person did in a workspace."""
        return f"{self.prefix}:{{audit}}:actor:{team_id}:{user_id}"

    def by_code(self, team_id: str, code: str) -> str:
        """The entries about one secret (by its share code) of a workspace."""
        return f"{self.prefix}:{{audit}}:code:{team_id}:{code}"

    def indexes(self, event: AuditEvent) -> list[str]:
        """The indexes an event's entry goes in."""
        keys = [self.by_team(event.team_id), self.by_actor(event.team_id, event.actor)]
        return keys + ([self.by_code(event.team_id, event.code)] if event.code else [])
