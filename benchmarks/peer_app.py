"""snappass (the peer) under uvicorn, through a2wsgi's WSGI-to-ASGI bridge.

    python -m benchmarks.peer_app   (env: PORT, REDIS_URL, NO_SSL=true)

The bot's own server settings (one process, uvloop, httptools, no access log), so the
only difference from the bot's serving is the bridge's thread pool that runs the
Flask app. The suite also serves snappass with gunicorn (its usual deployment) and
compares against whichever of the two is faster.
"""

from __future__ import annotations

import os
import sys

import uvicorn
from a2wsgi import WSGIMiddleware


def main() -> int:
    from snappass.main import app  # reads REDIS_URL at import

    uvicorn.run(WSGIMiddleware(app), host="127.0.0.1", port=int(os.environ["PORT"]),
                lifespan="off", access_log=False, log_level="warning",
                timeout_graceful_shutdown=10, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
