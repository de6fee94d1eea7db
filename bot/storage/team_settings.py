"""A workspace's own settings when several workspaces share one deployment (OAuth):
its audit channel and its share-secret admins, in one Redis hash per workspace.

Fields: `audit_channel` -> channel id; `admin:USER` -> "1" for each admin (one field
each, so adding and removing admins never races); `installed` -> who installed first
("" when not known: a workspace installed before the mark was kept).
The hash exists from a workspace's first install until it uninstalls (removing the last
admin leaves the mark), so an install is the first only when the workspace had no
installation stored before it (the caller looks) and no settings, decided in one step.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage import replies
from bot.storage.connection import RedisClient
from bot.storage.faults import unavailable_on_redis_errors
from bot.storage.keys import KeySpace

_ADMIN = "admin:"

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


@dataclass(frozen=True)
class TeamSettings:
    """What one workspace chose."""

    audit_channel: str | None = None
    admins: frozenset[str] = frozenset()


class TeamSettingsStore:
    """Read and change workspaces' settings."""

    def __init__(self, redis: RedisClient, *, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._first_install = redis.register_script(FIRST_INSTALL)
        self._remove_admin = redis.register_script(REMOVE_ADMIN)

    @unavailable_on_redis_errors
    async def get(self, team_id: str) -> TeamSettings:
        raw = replies.fields(await self._redis.hgetall(self._keys.team_settings(team_id)))
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return TeamSettings(
            audit_channel=fields.get("audit_channel") or None,
            admins=frozenset(k[len(_ADMIN):] for k in fields if k.startswith(_ADMIN)))

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
