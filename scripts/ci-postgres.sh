#!/usr/bin/env bash
# A throwaway PostgreSQL for the store tests (CI, or a developer who wants them locally).
#
#   scripts/ci-postgres.sh start DIR   installs PostgreSQL if missing (apt, needs root),
#                                      starts a cluster in DIR listening only on a Unix
#                                      socket in DIR, and prints its URL on stdout
#   scripts/ci-postgres.sh stop DIR    stops that cluster and deletes DIR
#
# Everything but the URL goes to stderr, so `URL=$(scripts/ci-postgres.sh start DIR)` works.
set -euo pipefail

action=${1:?usage: ci-postgres.sh start|stop DIR}
dir=${2:?usage: ci-postgres.sh start|stop DIR}
port=${OPSBOT_CI_PGPORT:-54329}
db=opsbot_test

# The newest server install (a client-only install has bin/ too, but no initdb).
pg_bin() {
    local initdb
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1) || true
    if [ -n "$initdb" ]; then dirname "$initdb"; fi
}

# initdb and postgres refuse to run as root: use the postgres account the package creates.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_postgres() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "ci-postgres: PostgreSQL is not installed and this is not root; install it" >&2
        exit 1
    fi
    echo "ci-postgres: installing PostgreSQL with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    # The package may have started its default cluster; this script runs its own.
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" {print $1, $2}' |
            while read -r version cluster; do pg_ctlcluster "$version" "$cluster" stop >&2 || true; done
    fi
}

start() {
    local bin
    bin=$(pg_bin)
    if [ -z "$bin" ]; then
        install_postgres
        bin=$(pg_bin)
    fi
    [ -n "$bin" ] || { echo "ci-postgres: no PostgreSQL binaries after install" >&2; exit 1; }
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses= -c fsync=off" start >&2
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U postgres "$db"
    echo "ci-postgres: $("$bin/postgres" --version) running in $dir" >&2
    echo "postgresql://postgres@/$db?host=$dir&port=$port"
}

stop() {
    local bin
    bin=$(pg_bin)
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$dir"
}

case "$action" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: ci-postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
