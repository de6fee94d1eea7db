"""A throwaway redis-server on a free port (for the demo and benchmarks; pytest uses
pytest-redis's fixture, which runs the same executor)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from port_for import get_port
from pytest_redis.executor import RedisExecutor


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """Start redis-server (nothing saved to disk); yield its URL; stop it afterwards."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="share-secret-redis-") as datadir:
        port = get_port(None)
        assert port is not None
        server = RedisExecutor(executable, databases=4, redis_timeout=30, loglevel="warning",
                               host="127.0.0.1", port=port, datadir=Path(datadir))
        server.start()
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.stop()
