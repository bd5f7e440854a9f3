#!/usr/bin/env bash
# Makes sure Debian's RabbitMQ and Erlang's epmd are installed for the message-consumer tests
# (test/messages-rabbitmq.spec.ts). The tests start their own throwaway broker, with its own epmd,
# on free loopback ports (test/support/rabbitmq-harness.ts), so all this needs is the binaries.
# Silent when present. After installing, no broker or epmd that the package started is left running.
set -euo pipefail

bin=/usr/lib/rabbitmq/bin
[ -x "$bin/rabbitmq-server" ] && [ -x "$bin/rabbitmqctl" ] && command -v epmd >/dev/null 2>&1 && exit 0

command -v apt-get >/dev/null 2>&1 || {
  echo "ensure-rabbitmq: $bin/rabbitmq-server is missing and there is no apt-get; install RabbitMQ (Debian package 'rabbitmq-server')." >&2
  exit 1
}
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"

log="$(mktemp)"
if ! { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "ensure-rabbitmq: installing Debian's rabbitmq-server failed (output above)." >&2
  exit 1
fi
rm -f "$log"

# With an init system the package starts a broker (rabbit@host on 5672, every interface) and epmd
# on 4369. The tests use neither, and a stray broker would only hide mistakes: stop the service,
# then epmd (`epmd -kill` stops it only once no Erlang node is registered with it).
$as_root service rabbitmq-server stop >/dev/null 2>&1 || true
if command -v systemctl >/dev/null 2>&1; then
  $as_root systemctl stop rabbitmq-server.service epmd.socket epmd.service >/dev/null 2>&1 || true
fi
epmd -kill >/dev/null 2>&1 || true

[ -x "$bin/rabbitmq-server" ] && command -v epmd >/dev/null 2>&1 || {
  echo "ensure-rabbitmq: apt-get installed rabbitmq-server, but $bin/rabbitmq-server or epmd is still missing." >&2
  exit 1
}
echo "ensure-rabbitmq: installed rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || true)"
