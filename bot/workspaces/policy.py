"""A workspace's external sharing policy: the deployment's defaults (PUBLIC_URL, SMTP_URL
and the EXTERNAL_* settings), changed per workspace by its admins, and what the share form
offers because of it.

The share service enforces the policy (`SharingService.share_external` takes the one
`policy_for` returns); the form only leaves out what the policy would refuse anyway.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from bot.domain import Audience
from bot.options import MAX_EXPIRY_SECONDS, MIN_EXPIRY_SECONDS, parse_duration
from bot.secrets.external import ExternalPolicy
from bot.storage.team_settings import NO_CAP, PolicyOverrides, TeamSettingsStore

# An email domain an admin may allow: dot-separated labels of letters, digits and hyphens.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 50


def parse_domains(text: str) -> tuple[str, ...] | None:
    """Comma-separated domains, lower-cased and without repeats; None if one is not a
    domain (or there are more than MAX_DOMAINS). An empty text is no domain: any."""
    domains = tuple(dict.fromkeys(d.strip().lower().lstrip("@") for d in text.split(",")
                                  if d.strip()))
    if len(domains) > MAX_DOMAINS or any(not _DOMAIN.fullmatch(d) for d in domains):
        return None
    return domains


def parse_max_expiry(text: str) -> int | None:
    """A cap on expiry as typed ("3d", "12h"), in seconds; None if it is not one."""
    seconds = parse_duration(text.strip())
    if seconds is None or not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS:
        return None
    return seconds


class PolicyProblem(enum.Enum):
    """Why an `admin policy ...` text was not a change."""

    UNKNOWN = "unknown"  # not one of the settings
    SWITCH = "switch"  # wanted on or off
    DOMAINS = "domains"
    EXPIRY = "expiry"


_SWITCHES = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}


def parse_change(text: str) -> PolicyOverrides | PolicyProblem:
    """`external on|off`, `domains a.com,b.com|any`, `link-passphrase on|off`,
    `max-expiry 3d|none`: the change it asks for."""
    name, _, value = text.strip().partition(" ")
    name, value = name.lower(), value.strip()
    if name in ("external", "link-passphrase"):
        switch = _SWITCHES.get(value.lower())
        if switch is None:
            return PolicyProblem.SWITCH
        return PolicyOverrides(enabled=switch) if name == "external" else \
            PolicyOverrides(link_needs_passphrase=switch)
    if name == "domains":
        domains = () if value.lower() in ("any", "*") else \
            parse_domains(value.replace(" ", ",")) if value else None
        return PolicyProblem.DOMAINS if domains is None else \
            PolicyOverrides(allowed_domains=domains)
    if name == "max-expiry":
        seconds = NO_CAP if value.lower() in ("none", "off") else parse_max_expiry(value)
        return PolicyProblem.EXPIRY if seconds is None else \
            PolicyOverrides(max_expiry_seconds=seconds)
    return PolicyProblem.UNKNOWN


@dataclass(frozen=True)
class PolicyView:
    """A workspace's policy, and which parts its admins set (the rest: the defaults)."""

    policy: ExternalPolicy
    overrides: PolicyOverrides


class ExternalSharing:
    """Policies by workspace, and whether external sharing can happen here at all."""

    def __init__(self, store: TeamSettingsStore, *, public_url: str | None, mail: bool,
                 defaults: ExternalPolicy, installed_settings: bool = False) -> None:
        """`installed_settings`: OAuth, where a workspace's settings exist only while it is
        installed (a change never recreates them)."""
        self._store = store
        self.public_url = public_url
        self.mail = mail
        self.defaults = defaults
        self._installed = installed_settings

    @property
    def available(self) -> bool:
        """Whether the deployment can serve people outside Slack (it has web pages)."""
        return self.public_url is not None

    async def view(self, team_id: str) -> PolicyView:
        overrides = (await self._store.get(team_id)).policy
        return PolicyView(apply(self.defaults, overrides), overrides)

    async def policy_for(self, team_id: str) -> ExternalPolicy:
        """The policy a share from `team_id` must follow."""
        return (await self.view(team_id)).policy

    async def audiences(self, team_id: str) -> tuple[Audience, ...]:
        """What the share form offers: always the workspace; the others when there are
        web pages, the workspace allows them, and (for email) mail is set up."""
        if not self.available or not (await self.policy_for(team_id)).enabled:
            return (Audience.WORKSPACE,)
        return self.offered(enabled=True)

    def offered(self, *, enabled: bool) -> tuple[Audience, ...]:
        """The audiences for a workspace whose policy is `enabled` (or not)."""
        if not self.available or not enabled:
            return (Audience.WORKSPACE,)
        email = (Audience.EMAIL,) if self.mail else ()
        return (Audience.WORKSPACE, *email, Audience.LINK)

    async def change(self, team_id: str, change: PolicyOverrides) -> PolicyView | None:
        """Store what `change` sets; the policy now, or None when the workspace's settings
        are gone (it uninstalled meanwhile)."""
        if not await self._store.set_policy(team_id, change, installed=self._installed):
            return None
        return await self.view(team_id)


def changes(current: ExternalPolicy, wanted: PolicyOverrides) -> PolicyOverrides:
    """What of `wanted` differs from the `current` policy (the rest would change nothing,
    and is not pinned against later changes of the defaults)."""
    return PolicyOverrides(
        enabled=None if wanted.enabled == current.enabled else wanted.enabled,
        allowed_domains=None if wanted.allowed_domains in (None, current.allowed_domains)
        else wanted.allowed_domains,
        link_needs_passphrase=None if wanted.link_needs_passphrase
        == current.link_needs_passphrase else wanted.link_needs_passphrase,
        max_expiry_seconds=None if wanted.max_expiry_seconds is None
        or (wanted.max_expiry_seconds or None) == current.max_expiry_seconds
        else wanted.max_expiry_seconds)


def apply(defaults: ExternalPolicy, overrides: PolicyOverrides) -> ExternalPolicy:
    """The defaults with what a workspace's admins set."""
    policy = defaults
    if overrides.enabled is not None:
        policy = replace(policy, enabled=overrides.enabled)
    if overrides.allowed_domains is not None:
        policy = replace(policy, allowed_domains=overrides.allowed_domains)
    if overrides.link_needs_passphrase is not None:
        policy = replace(policy, link_needs_passphrase=overrides.link_needs_passphrase)
    if overrides.max_expiry_seconds is not None:
        policy = replace(policy, max_expiry_seconds=overrides.max_expiry_seconds or None)
    return policy
