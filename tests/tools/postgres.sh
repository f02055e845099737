#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: initdb into DIR as the postgres user, loopback only.
# usage: postgres.sh start DIR   (writes DIR/url)  |  postgres.sh stop DIR
set -euo pipefail
action=$1
dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
port=${TAMGA_TEST_PG_PORT:-55432}
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $action in
start)
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  run "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
  run "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres tamga_test
  echo "postgresql+psycopg2://postgres@127.0.0.1:$port/tamga_test" >"$dir/url"
  ;;
stop)
  [ -d "$dir/data" ] && run "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
  ;;
esac
