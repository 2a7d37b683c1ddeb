#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests when it is missing. Playwright drives it
# through executable_path=/usr/bin/chromium; no browser is ever downloaded by a test tool.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "ensure-chromium: /usr/bin/chromium is missing and we cannot install it (not root, no sudo);" >&2
  echo "ensure-chromium: browser tests will be skipped. Install it with: apt-get install chromium" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: no apt-get here; install Chromium at /usr/bin/chromium for browser tests" >&2
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium (once)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
