"""A workspace's own settings, in one Redis hash per workspace: when several workspaces
share one deployment (OAuth), its audit channel and its share-secret admins; in any mode,
what its admins changed of the external sharing policy.

Fields: `audit_channel` -> channel id; `admin:USER` -> "1" for each admin (one field
each, so adding and removing admins never races); `installed` -> who installed first
("" when not known: a workspace installed before the mark was kept); `policy:external`,
`policy:link-passphrase` -> "on" | "off"; `policy:domains` -> "a.com,b.com" | "*" (any);
`policy:max-expiry` -> seconds | "none" (the usual cap). A policy field absent: the
deployment's default (bot.workspaces.policy).
With OAuth the hash exists from a workspace's first install until it uninstalls (removing
the last admin leaves the mark), so an install is the first only when the workspace had no
installation stored before it (the caller looks) and no settings, decided in one step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

_ADMIN = "admin:"
EXTERNAL, DOMAINS = "policy:external", "policy:domains"
LINK_PASSPHRASE, MAX_EXPIRY = "policy:link-passphrase", "policy:max-expiry"
_ANY_DOMAIN, _NO_CAP = "*", "none"
NO_CAP = 0  # PolicyOverrides.max_expiry_seconds: set to the usual cap (not the default)

# KEYS[1] the workspace's settings hash; ARGV[1] the installer (may be empty);
# ARGV[2] "1" when the workspace had an installation stored before this install
# -> 1 when neither an installation nor settings existed (the workspace's first install,
#    or its first since it uninstalled): the install is marked and the installer is its
#    admin; 0 otherwise: existing settings only gain the install mark if they lack it
#    (settings from before the mark), nothing else changes. Of two first installs at
#    once, exactly one gets 1. Absent settings are not created for an earlier install:
#    a first install racing with it must still find them absent.
FIRST_INSTALL = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSETNX', KEYS[1], 'installed', '')
  return 0
end
if ARGV[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'installed', ARGV[1])
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'admin:' .. ARGV[1], '1') end
return 1
"""

# KEYS[1] the workspace's settings hash; ARGV[1] the admin field to remove
# -> 1 when it was there, 0 when not. The hash keeps (or gains) the install mark:
#    removing the last admin of settings from before the mark must not empty it, which
#    would read as never installed. Absent settings stay absent (not recreated after an
#    uninstall that raced with this).
REMOVE_ADMIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSETNX', KEYS[1], 'installed', '')
return removed
"""

# KEYS[1] the workspace's settings hash; ARGV[1] "1" when the hash must exist already
# (OAuth: it exists while the workspace is installed); ARGV[2..] field, value pairs
# -> 1 when they were set; 0 when the hash was absent and had to exist (an uninstall
#    raced with the change: settings are not recreated without their install mark).
SET_POLICY = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


@dataclass(frozen=True)
class PolicyOverrides:
    """What a workspace's admins changed of the external sharing policy; None where they
    left the deployment's default."""

    enabled: bool | None = None
    allowed_domains: tuple[str, ...] | None = None  # (): any domain
    link_needs_passphrase: bool | None = None
    max_expiry_seconds: int | None = None  # NO_CAP: the usual cap

    def fields(self) -> dict[str, str]:
        """The hash fields of the values set here."""
        out: dict[str, str] = {}
        if self.enabled is not None:
            out[EXTERNAL] = "on" if self.enabled else "off"
        if self.allowed_domains is not None:
            out[DOMAINS] = ",".join(self.allowed_domains) or _ANY_DOMAIN
        if self.link_needs_passphrase is not None:
            out[LINK_PASSPHRASE] = "on" if self.link_needs_passphrase else "off"
        if self.max_expiry_seconds is not None:
            out[MAX_EXPIRY] = str(self.max_expiry_seconds) if self.max_expiry_seconds \
                else _NO_CAP
        return out


def _overrides(fields: Mapping[str, str]) -> PolicyOverrides:
    """The policy fields of a settings hash (an unreadable value counts as absent)."""
    def switch(name: str) -> bool | None:
        return {"on": True, "off": False}.get(fields.get(name, ""))

    domains = fields.get(DOMAINS)
    expiry = fields.get(MAX_EXPIRY, "")
    return PolicyOverrides(
        enabled=switch(EXTERNAL),
        allowed_domains=None if domains is None else
        () if domains == _ANY_DOMAIN else tuple(d for d in domains.split(",") if d),
        link_needs_passphrase=switch(LINK_PASSPHRASE),
        max_expiry_seconds=NO_CAP if expiry == _NO_CAP else
        int(expiry) if expiry.isascii() and expiry.isdigit() else None)


@dataclass(frozen=True)
class TeamSettings:
    """What one workspace chose."""

    audit_channel: str | None = None
    admins: frozenset[str] = frozenset()
    policy: PolicyOverrides = field(default_factory=PolicyOverrides)


class TeamSettingsStore:
    """Read and change workspaces' settings."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._first_install = redis.register_script(FIRST_INSTALL)
        self._remove_admin = redis.register_script(REMOVE_ADMIN)
        self._set_policy = redis.register_script(SET_POLICY)

    @unavailable_on_redis_errors
    async def get(self, team_id: str) -> TeamSettings:
        raw = replies.fields(await self._redis.hgetall(self._keys.team_settings(team_id)))
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return TeamSettings(
            audit_channel=fields.get("audit_channel") or None,
            admins=frozenset(k[len(_ADMIN):] for k in fields if k.startswith(_ADMIN)),
            policy=_overrides(fields))

    @unavailable_on_redis_errors
    async def set_policy(self, team_id: str, change: PolicyOverrides, *,
                         installed: bool) -> bool:
        """Store the values `change` sets, together; False when nothing was stored because
        `installed` settings (OAuth) are gone (the workspace uninstalled meanwhile)."""
        pairs = [part for item in change.fields().items() for part in item]
        if not pairs:
            return True
        return bool(await self._set_policy(keys=[self._keys.team_settings(team_id)],
                                           args=["1" if installed else "", *pairs]))

    @unavailable_on_redis_errors
    async def set_audit_channel(self, team_id: str, channel_id: str) -> None:
        await self._redis.hset(self._keys.team_settings(team_id), "audit_channel", channel_id)

    @unavailable_on_redis_errors
    async def add_admin(self, team_id: str, user_id: str) -> None:
        await self._redis.hset(self._keys.team_settings(team_id), _ADMIN + user_id, "1")

    @unavailable_on_redis_errors
    async def remove_admin(self, team_id: str, user_id: str) -> bool:
        return bool(await self._remove_admin(keys=[self._keys.team_settings(team_id)],
                                             args=[_ADMIN + user_id]))

    @unavailable_on_redis_errors
    async def first_install(self, team_id: str, installer: str, *,
                            installed_before: bool) -> bool:
        """Record an install: True, with `installer` now an admin, when it is the
        workspace's first (no installation stored before this one, `installed_before`,
        and no settings yet); False otherwise (settings only gain a missing install
        mark)."""
        return bool(await self._first_install(keys=[self._keys.team_settings(team_id)],
                                              args=[installer, "1" if installed_before
                                                    else ""]))

    @unavailable_on_redis_errors
    async def forget(self, team_id: str) -> None:
        """The workspace uninstalled: its audit channel, admins and install mark go."""
        await self._redis.delete(self._keys.team_settings(team_id))
