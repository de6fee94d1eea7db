"""What admins are told by `/share-secret admin ...` and the admin Revoke button."""

from __future__ import annotations

ADMIN_USAGE = ("Admin commands: `/share-secret admin list [@user] [active|ended]`, "
               "`/share-secret admin revoke CODE`, `/share-secret admin audit [CODE|@user]`, "
               "`/share-secret admin policy` (sharing outside Slack), "
               "`/share-secret admin api-token create NAME [#channel|@person]`, "
               "`admin api-token list`, `admin api-token revoke NAME` (tokens for scripts "
               "using the HTTP API).")
ADMIN_REFUSED = ":no_entry: Only share-secret admins can do that."
CANNOT_VERIFY_ADMIN = (":warning: Couldn't check with Slack whether you are an admin. "
                       "Please try again.")
NO_SUCH_CODE = "No secret in this workspace has that code."


def audit_about(*, code: str | None = None, actor: str | None = None) -> str:
    """What `admin audit` lists: by one person, about one code, or the whole workspace."""
    if actor is not None:
        return f"by <@{actor}>"
    if code is not None:
        return f"for `{code}`"
    return "in this workspace"
