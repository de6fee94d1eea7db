"""prometheus_client's multiprocess mode, set up by the HTTP server's entry point.

The server always runs in this mode, one worker process or several (WEB_CONCURRENCY):
one code path, and counters stay right when uvicorn runs several workers, each
writing its own files that /metrics sums. prometheus_client reads
PROMETHEUS_MULTIPROC_DIR when it is first imported, so this runs before anything
imports it, and worker processes inherit the variable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bot.config import Settings

_OURS = "share-secret-metrics-"


def prepare(settings: Settings) -> Settings:
    """Settings with a metrics directory: PROMETHEUS_MULTIPROC_DIR when given (emptied:
    files of an earlier run would be summed in), else a fresh private one."""
    given = settings.prometheus_multiproc_dir
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix=_OURS))
    # The entry point hands the setting to the library, which reads only the environment.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return settings.model_copy(update={"prometheus_multiproc_dir": str(directory)})


def cleanup(settings: Settings) -> None:
    """Remove the directory if `prepare` made it (a given one is the operator's)."""
    directory = settings.prometheus_multiproc_dir
    if directory and Path(directory).name.startswith(_OURS):
        shutil.rmtree(directory, ignore_errors=True)
