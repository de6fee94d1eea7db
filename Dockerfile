# syntax=docker/dockerfile:1
# share-secret: the bot (`python -m bot`) in a small image that runs as an unprivileged user.
# Build: docker build -t share-secret .   Run: see docker-compose.yml and docs/operations.md ("Deploy with Docker").

# --- build: install the project and its dependencies into a virtualenv -------------------
# Every dependency (cryptography, hiredis, uvloop, httptools, ...) has a wheel for
# linux/amd64, so no compiler is needed here either.
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# The runtime lock first: every dependency at its pinned version, checked against its hash,
# in a layer that only a change of the lock rebuilds.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/runtime.txt
# README.md is the project's `readme` in pyproject.toml: the build needs it. The project
# itself adds no package (--no-deps) and builds with the locked setuptools.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && python -c "import bot, uvicorn, hiredis, cryptography"

# --- final: the virtualenv only, no build tools, no sources, no pip cache ----------------
FROM python:3.11-slim AS final

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=3000 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# Settings come from the environment (docker run --env-file / compose env_file), never
# from a .env baked into the image (.dockerignore keeps it out).
WORKDIR /app
USER 10001:10001

EXPOSE 3000

# /healthz on $PORT is liveness: 200 while the process serves HTTP, whatever Redis does
# (readiness, with Redis, is /readyz); any other answer, or none, raises and exits 1.
# Socket Mode serves no HTTP: there, run with --no-healthcheck (compose: healthcheck:
# disable: true). A graceful stop can take up to ~25 s: docker stop -t 30.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

CMD ["python", "-m", "bot"]
