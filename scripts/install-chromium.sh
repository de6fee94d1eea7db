#!/usr/bin/env bash
# Install chromium, which the browser tests and the demo's screenshots drive through Playwright.
# Debian's package, never Playwright's own browser download: that fetches a build from outside
# the package registries, and fails offline.
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
if command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
elif command -v brew >/dev/null; then
  brew install --cask chromium
else
  echo "Please install chromium (or set CHROMIUM to a Chromium or Chrome binary)" >&2
  exit 1
fi
