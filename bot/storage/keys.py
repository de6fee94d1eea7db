"""Every Redis key name share-secret uses, built in one place.

The keys of one secret share the hash tag `{secret_id}` so that multi-key scripts
stay within one Redis Cluster slot.
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

    def code(self, code: str) -> str:
        return f"{self.prefix}:code:{code}"
