#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite (the target's store runs its tests against it).
#
#   scripts/test-postgres.sh start   -> prints `export KCONNECTOR_TEST_DATABASE_URL=...` (eval it)
#   scripts/test-postgres.sh stop    -> stops the server and removes its data directory
#
# It uses the machine's PostgreSQL server binaries (Debian: package `postgresql`). When they are
# missing and KCONNECTOR_INSTALL_POSTGRES=1 (CI sets it), it installs them with apt-get. Without
# binaries it prints nothing and the Postgres variants of the tests are skipped with that reason.
set -euo pipefail
STATE_DIR="${KCONNECTOR_PG_DIR:-/tmp/kconnector-test-postgres}"

find_bindir() {
  local d
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  return 1
}

install_server() {
  [ "${KCONNECTOR_INSTALL_POSTGRES:-0}" = "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null || return 1
  echo "installing PostgreSQL server (Debian package postgresql)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
}

run_as_owner() {
  # PostgreSQL refuses to run as root: use the `postgres` system user when we are root.
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local bindir port
  bindir=$(find_bindir) || { install_server && bindir=$(find_bindir); } || {
    echo "no PostgreSQL server binaries; Postgres tests will be skipped" >&2; return 0; }
  stop >/dev/null 2>&1 || true
  mkdir -p "$STATE_DIR"
  [ "$(id -u)" = "0" ] && { id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres; chown postgres "$STATE_DIR"; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  run_as_owner "$bindir/initdb" -D "$STATE_DIR/data" -U kconnector --auth=trust -E UTF8 --no-instructions >/dev/null
  run_as_owner "$bindir/pg_ctl" -D "$STATE_DIR/data" -l "$STATE_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$STATE_DIR -c fsync=off" start >/dev/null
  run_as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U kconnector kconnector_test
  echo "$bindir" > "$STATE_DIR/bindir"
  echo "export KCONNECTOR_TEST_DATABASE_URL=postgresql+psycopg://kconnector@127.0.0.1:$port/kconnector_test"
}

stop() {
  [ -f "$STATE_DIR/bindir" ] || return 0
  run_as_owner "$(cat "$STATE_DIR/bindir")/pg_ctl" -D "$STATE_DIR/data" -m fast -w stop >/dev/null || true
  rm -rf "$STATE_DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
