"""Workspaces: one (a bot token) or several (OAuth installs), each with its client,
audit channel and admins."""
