#!/usr/bin/env bash
# pgcluster.sh: a throwaway PostgreSQL cluster for tests, on a free 127.0.0.1 port, with
# its data, socket and log in one temporary directory. Not for anything that must last:
# authentication is "trust" and the cluster is deleted by cleanup.
#
#   pgcluster.sh start [DIR]    new cluster (in DIR, else a fresh temp dir); prints
#                               PGCLUSTER_URL=postgresql://... and PGCLUSTER_DIR=...
#   pgcluster.sh stop DIR       fast shutdown, data kept
#   pgcluster.sh crash DIR      immediate shutdown (what a crash looks like to clients)
#   pgcluster.sh resume DIR     starts a stopped cluster again, same port and data
#   pgcluster.sh psql DIR ARGS  psql connected to it
#   pgcluster.sh cleanup DIR    stops it if running and deletes DIR; safe to call twice,
#                               so it fits a trap:  trap 'pgcluster.sh cleanup "$d"' EXIT
#
# PostgreSQL refuses to run as root, so as root every server command runs as the
# "postgres" system user, which then owns DIR.
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_USER=postgres

die() { echo "pgcluster: $*" >&2; exit 1; }

# as_owner CMD...: runs a server command as the user allowed to own the cluster.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

# A port nobody listens on now. Another process could take it before the server binds
# it; start_server retries with a new one when that happens.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url_of() { echo "postgresql://$PG_USER@127.0.0.1:$(cat "$1/port")/postgres"; }

# init_cluster DIR: initdb without fsync or instructions (nothing here must survive a crash).
init_cluster() {
    local dir=$1
    mkdir -p "$dir/sock"
    if [ "$(id -u)" = 0 ]; then chown -R "$PG_USER:" "$dir"; fi
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U "$PG_USER" -A trust -E UTF8 --locale=C \
        --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    # Loopback only, socket in our own directory (the system's may not be writable).
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 200
log_min_messages = warning
EOF
}

# run_server DIR: starts the server on DIR/port and waits until it accepts connections.
run_server() {
    local dir=$1
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $(cat "$dir/port")" start >/dev/null
}

# start_server DIR: picks a port and starts, trying again if the port was taken meanwhile.
start_server() {
    local dir=$1 try
    for try in 1 2 3 4 5; do
        free_port >"$dir/port"
        if [ "$(id -u)" = 0 ]; then chown "$PG_USER:" "$dir/port"; fi
        run_server "$dir" && return 0
        grep -q 'could not bind\|already in use' "$dir/server.log" 2>/dev/null || break
    done
    tail -n 20 "$dir/server.log" >&2 || true
    die "server did not start (log: $dir/server.log)"
}

is_running() { [ -f "$1/data/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

cmd_start() {
    local dir=${1:-}
    [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server found (install the postgresql package)"
    if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/pgcluster.XXXXXX"); fi
    mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || die "cannot use $dir as the cluster directory"
    init_cluster "$dir"
    start_server "$dir"
    echo "PGCLUSTER_URL=$(url_of "$dir")"
    echo "PGCLUSTER_DIR=$dir"
}

cmd_stop() {
    local dir=${1:?usage: stop DIR} mode=${2:-fast}
    is_running "$dir" || return 0
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null
}

cmd_resume() {
    local dir=${1:?usage: resume DIR}
    is_running "$dir" || run_server "$dir"
    echo "PGCLUSTER_URL=$(url_of "$dir")"
}

cmd_cleanup() {
    local dir=${1:?usage: cleanup DIR}
    [ -d "$dir" ] || return 0
    # A cluster that will be deleted needs no clean shutdown.
    if [ -d "$dir/data" ]; then cmd_stop "$dir" immediate || true; fi
    if [ -f "$dir/data/postmaster.pid" ]; then die "server in $dir still running; not deleting"; fi
    rm -rf "$dir"
}

cmd_psql() {
    local dir=${1:?usage: psql DIR ARGS}
    shift
    PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$(url_of "$dir")" "$@"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "${1:-}" fast ;;
    crash) shift; cmd_stop "${1:-}" immediate ;;
    resume) shift; cmd_resume "$@" ;;
    psql) shift; cmd_psql "$@" ;;
    cleanup) shift; cmd_cleanup "$@" ;;
    *) sed -n '2,17s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
