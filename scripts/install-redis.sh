#!/usr/bin/env bash
# Install redis-server, which the tests and the demo start for themselves.
set -euo pipefail
if command -v redis-server >/dev/null; then exit 0; fi
if command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
elif command -v brew >/dev/null; then
  brew install redis
else
  echo "Please install redis-server (https://redis.io/docs/latest/operate/oss_and_stack/install/)" >&2
  exit 1
fi
