"""Outbound Slack Web API: calls and retries, delivering messages and DMs, DM channels,
who may receive a secret, and who is an admin."""
