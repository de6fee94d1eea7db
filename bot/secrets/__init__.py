"""Secrets: share, reveal, revoke, expire; form validation, formats, rate limits, key rotation.

No Slack request objects in here: handlers parse, call these services, and render."""
