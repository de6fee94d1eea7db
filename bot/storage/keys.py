"""Every Redis key name share-secret uses, built in one place.

The keys of one secret share the hash tag `{secret_id}` so that multi-key scripts
stay within one Redis Cluster slot. Indexes are keys of their own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeySpace:
    """Key names under one prefix (so several deployments can share a Redis)."""

    prefix: str = "ss"

    def ciphertext(self, secret_id: str) -> str:
        return f"{self.prefix}:{{{secret_id}}}:c"

    def meta(self, secret_id: str) -> str:
        return f"{self.prefix}:{{{secret_id}}}:m"

    def failures(self, secret_id: str) -> str:
        """Wrong passphrases within the current window."""
        return f"{self.prefix}:{{{secret_id}}}:f"

    def lock(self, secret_id: str) -> str:
        """Present while the secret is locked after too many wrong passphrases."""
        return f"{self.prefix}:{{{secret_id}}}:l"

    def code(self, code: str) -> str:
        return f"{self.prefix}:code:{code}"

    def expiries(self) -> str:
        """Sorted set: ids by expiry time (a sweep costs what expired, not what is stored)."""
        return f"{self.prefix}:expiries"

    def reminders(self) -> str:
        """Sorted set: secret ids by the time their sender should be reminded."""
        return f"{self.prefix}:reminders"

    def by_team(self, team_id: str) -> str:
        """Sorted set: a workspace's secret ids by creation time (for admins)."""
        return f"{self.prefix}:team:{team_id}"

    def by_sender(self, team_id: str, user_id: str) -> str:
        """Sorted set: one sender's secret ids by creation time."""
        return f"{self.prefix}:sent:{team_id}:{user_id}"
