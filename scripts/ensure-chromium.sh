#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser test
# (test/demo-page.spec.ts drives it with playwright-core; Playwright's own
# browser download does not work on these machines). Silent when present.
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0

command -v apt-get >/dev/null 2>&1 || {
  echo "ensure-chromium: /usr/bin/chromium is missing and there is no apt-get; install Chromium (Debian package 'chromium')." >&2
  exit 1
}
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"

log="$(mktemp)"
if ! { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "ensure-chromium: installing Debian's chromium failed (output above)." >&2
  exit 1
fi
rm -f "$log"
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
