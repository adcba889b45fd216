#!/usr/bin/env bash
# The real database servers db-import's tests read: PostgreSQL and MariaDB
# from Debian's packages (tests/setup.sh installs them), each in its own data
# folder on a free loopback port, with a user `fletch` who logs in with a
# password and may create databases.
#   bash tests/databases.sh start   # idempotent: a running pair is kept
#   bash tests/databases.sh stop
# `start` writes $FLETCH_TEST_DB_DIR/env (default /tmp/fletch-test-dbs),
# which the tests read: FLETCH_TEST_POSTGRES, FLETCH_TEST_MYSQL (URLs without
# the password) and FLETCH_TEST_DB_PASSWORD.
set -euo pipefail
# Outside $HOME: the servers run as the postgres and mysql users.
dir="${FLETCH_TEST_DB_DIR:-/tmp/fletch-test-dbs}"
password=fletch-test-password
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() {
  [ -f "$dir/env" ] && [ -f "$dir/pg/postmaster.pid" ] && kill -0 "$(head -1 "$dir/pg/postmaster.pid")" 2>/dev/null &&
    [ -f "$dir/maria-run/pid" ] && kill -0 "$(cat "$dir/maria-run/pid")" 2>/dev/null
}

start_postgres() {
  local port=$1
  rm -rf "$dir/pg" "$dir/pg-run"
  mkdir -p "$dir/pg" "$dir/pg-run"
  chown postgres "$dir/pg" "$dir/pg-run"
  printf '%s\n' "$password" > "$dir/pg-run/pw"
  chown postgres "$dir/pg-run/pw"
  # initdb and postgres refuse to run as root.
  runuser -u postgres -- "$pg_bin/initdb" -D "$dir/pg" -U fletch --pwfile="$dir/pg-run/pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/pg-run/init.log"
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/pg" -l "$dir/pg-run/server.log" -w \
    -o "-p $port -k $dir/pg-run -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  runuser -u postgres -- "$pg_bin/createdb" -h "$dir/pg-run" -p "$port" -U fletch fletch
}

start_mariadb() {
  local port=$1
  rm -rf "$dir/maria" "$dir/maria-run"
  mkdir -p "$dir/maria" "$dir/maria-run"
  chown mysql "$dir/maria" "$dir/maria-run"
  mariadb-install-db --user=mysql --datadir="$dir/maria" --auth-root-authentication-method=socket \
    --skip-test-db >"$dir/maria-run/init.log" 2>&1
  mariadbd --user=mysql --datadir="$dir/maria" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/maria-run/sock" --pid-file="$dir/maria-run/pid" --log-error="$dir/maria-run/server.log" \
    --innodb-flush-log-at-trx-commit=0 >/dev/null 2>&1 &
  for _ in $(seq 150); do
    mariadb --socket="$dir/maria-run/sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  mariadb --socket="$dir/maria-run/sock" -uroot -e "
    CREATE USER 'fletch'@'127.0.0.1' IDENTIFIED BY '$password';
    GRANT ALL ON *.* TO 'fletch'@'127.0.0.1';
    CREATE DATABASE fletch;"
}

case "${1:-}" in
  start)
    if running; then
      exit 0
    fi
    bash "$0" stop
    mkdir -p "$dir"
    pg_port=$(free_port)
    maria_port=$(free_port)
    start_postgres "$pg_port"
    start_mariadb "$maria_port"
    cat >"$dir/env" <<EOF
FLETCH_TEST_POSTGRES=postgres://fletch@127.0.0.1:$pg_port/fletch?sslmode=disable
FLETCH_TEST_MYSQL=mysql://fletch@127.0.0.1:$maria_port/fletch?sslmode=disabled
FLETCH_TEST_DB_PASSWORD=$password
EOF
    echo "test databases: PostgreSQL on 127.0.0.1:$pg_port, MariaDB on 127.0.0.1:$maria_port ($dir/env)"
    ;;
  stop)
    rm -f "$dir/env"
    if [ -f "$dir/pg/postmaster.pid" ]; then
      runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/maria-run/pid" ]; then
      kill "$(cat "$dir/maria-run/pid")" 2>/dev/null || true
      for _ in $(seq 50); do
        kill -0 "$(cat "$dir/maria-run/pid" 2>/dev/null)" 2>/dev/null || break
        sleep 0.2
      done
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
