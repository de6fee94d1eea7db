"""Serving: the ASGI app (/slack/events, health, metrics), uvicorn workers, Socket Mode,
inbound request checks, signatures, readiness."""
