#!/usr/bin/env bash
# Start throw-away services for the test suite, run a command with their URLs exported,
# then stop them. Installs what is missing (Debian packages via apt-get when root).
#   scripts/test-services.sh pytest ...
set -euo pipefail
# runuser, useradd and the PostgreSQL tools live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

here=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${HONNIN_TEST_RUN_DIR:-/tmp/honnin-test-services-$$}
pg_port=${HONNIN_TEST_PG_PORT:-$((54000 + $$ % 900))}
redis_port=${HONNIN_TEST_REDIS_PORT:-$((55000 + $$ % 900))}
apt_updated=0

log() { echo "[test-services] $*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "need Debian packages $* but not root; install them and re-run"; return 1
  fi
  if [ $apt_updated = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local bin
  bin=$(pg_bin) || { apt_install postgresql; bin=$(pg_bin); }
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home /var/lib/postgresql postgres
  fi
  mkdir -p "$run_dir/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$run_dir" "$run_dir/pg"
  as_pg_user "$bin/initdb" -D "$run_dir/pg/data" -U honnin --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # The port is derived from the process id, inside the kernel's range for outgoing
  # connections: one of those (or another server) can hold it. Then try another port,
  # and say why if none works.
  local attempt
  for attempt in 1 2 3 4 5; do
    if as_pg_user "$bin/pg_ctl" -D "$run_dir/pg/data" -l "$run_dir/pg/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $run_dir/pg -c fsync=off -c full_page_writes=off -c max_connections=300" start >/dev/null; then
      break
    fi
    log "PostgreSQL did not start on port $pg_port (attempt $attempt): $(tail -n 3 "$run_dir/pg/log" | tr '\n' ' ')"
    [ "$attempt" = 5 ] && return 1
    pg_port=$((54000 + RANDOM % 900))
  done
  as_pg_user "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U honnin honnin_test
  export HONNIN_TEST_POSTGRES_URL="postgresql+asyncpg://honnin@127.0.0.1:$pg_port/honnin_test"
  log "PostgreSQL on 127.0.0.1:$pg_port"
}

stop_postgres() {
  local bin
  bin=$(pg_bin) || return 0
  [ -d "$run_dir/pg/data" ] && as_pg_user "$bin/pg_ctl" -D "$run_dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$run_dir/redis"
  local attempt up
  for attempt in 1 2 3 4 5; do
    # As for PostgreSQL: another port when this one is taken.
    up=0
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$run_dir/redis" --daemonize yes --pidfile "$run_dir/redis/pid" \
      --logfile "$run_dir/redis/log" >/dev/null
    for _ in $(seq 50); do
      redis-cli -p "$redis_port" ping >/dev/null 2>&1 && { up=1; break; }
      sleep 0.1
    done
    [ "$up" = 1 ] && break
    log "Redis did not start on port $redis_port (attempt $attempt): $(tail -n 2 "$run_dir/redis/log" 2>/dev/null | tr '\n' ' ')"
    [ "$attempt" = 5 ] && return 1
    redis_port=$((55000 + RANDOM % 900))
  done
  export HONNIN_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
  log "Redis on 127.0.0.1:$redis_port"
}

stop_redis() {
  [ -f "$run_dir/redis/pid" ] && kill "$(cat "$run_dir/redis/pid")" 2>/dev/null || true
}

cleanup() {
  stop_postgres
  stop_redis
  rm -rf "$run_dir"
}

trap cleanup EXIT
# A run killed before its cleanup leaves its directory; a later run with the same process
# id would find a database cluster there and fail to create one.
[ -z "${HONNIN_TEST_RUN_DIR:-}" ] && rm -rf "$run_dir"
mkdir -p "$run_dir"
start_postgres
start_redis
export HONNIN_REQUIRE_TEST_SERVICES=1
cd "$here"
"$@"
