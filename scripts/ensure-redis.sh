#!/usr/bin/env bash
# Makes sure redis-server, redis-cli and redis-sentinel are on PATH for the test suite.
# The tests start their own throwaway servers on free ports
# (test/support/redis-harness.ts), so all this needs is the binaries.
# Silent when they are already installed.
set -euo pipefail

have_redis() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 &&
    command -v redis-sentinel >/dev/null 2>&1
}

fail() {
  cat >&2 <<EOF
ensure-redis: $1
The tests need redis-server, redis-cli and redis-sentinel (Redis 6.2 or newer) on PATH.
Install them, e.g.:
  Debian/Ubuntu:  sudo apt-get install redis-server redis-tools redis-sentinel
  macOS:          brew install redis
  anything else:  https://redis.io/docs/latest/operate/oss_and_stack/install/
EOF
  exit 1
}

# apt-get is chatty; keep its output unless it fails, then show all of it.
quietly() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

if have_redis; then
  exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
  fail "redis-server/redis-cli/redis-sentinel not found, and there is no apt-get to install them with."

if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1; then
  as_root="sudo"
else
  fail "redis-server/redis-cli/redis-sentinel not found; installing them needs root or sudo."
fi

quietly $as_root apt-get update -qq ||
  fail "apt-get update failed (output above)."
quietly $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools redis-sentinel ||
  fail "apt-get install redis-server redis-tools redis-sentinel failed (output above)."

# The Debian packages may start a system redis-server on 6379 and a sentinel on 26379. The
# tests don't use them, and a stray server would only hide mistakes, so stop them.
$as_root service redis-server stop >/dev/null 2>&1 || true
$as_root service redis-sentinel stop >/dev/null 2>&1 || true
pidfile=/run/redis/redis-server.pid
if [ -f "$pidfile" ]; then
  $as_root kill "$(cat "$pidfile")" >/dev/null 2>&1 || true
fi

have_redis || fail "apt-get installed redis-server/redis-tools/redis-sentinel, but one of their commands is still not on PATH."

version="$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')"
echo "ensure-redis: installed redis-server ${version:-(unknown version)}"
