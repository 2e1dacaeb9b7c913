#!/usr/bin/env bash
# infra/local-db.sh — persistent local PostgreSQL for `make run`.
#
# Usage:
#   DATABASE_URL="$(infra/local-db.sh)"   start (or reuse) the cluster, create the
#                                         `zabota` database if missing, print ONLY
#                                         its URL on stdout (messages go to stderr)
#   infra/local-db.sh stop                stop the cluster (data is kept)
#   infra/local-db.sh status              show whether it is running
#
# The cluster lives in $REPO/.data/pg (git-ignored; `rm -rf .data` to reset) and
# listens on 127.0.0.1:${LOCAL_PG_PORT:-54329}; the URL is
# postgres://postgres@127.0.0.1:PORT/zabota (trust auth, local only).
# If DATABASE_URL is already set and non-empty, it is printed as is and nothing
# is started, so an existing server always wins.
# As root, the server runs as the `postgres` OS user, which must be able to
# traverse to the repo (a clone under /root will not work: set DATABASE_URL or
# move the clone).  See infra/pg.sh for binary discovery and other settings.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd -P)"
PG_SH="$SCRIPT_DIR/pg.sh"
DIR="$REPO/.data/pg"
PORT="${LOCAL_PG_PORT:-54329}"
DB=zabota
PG_OS_USER="${PG_OS_USER:-postgres}"

log() { printf 'local-db: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "${1:-start}" in
    stop)
        if "$PG_SH" status "$DIR" >/dev/null 2>&1; then
            "$PG_SH" stop "$DIR"
            log "stopped (data kept in $DIR)"
        else
            log "not running"
        fi
        exit 0
        ;;
    status)
        exec "$PG_SH" status "$DIR"
        ;;
    start) ;;
    *)
        echo "usage: $0 [start|stop|status]" >&2
        exit 2
        ;;
esac

if [[ -n "${DATABASE_URL:-}" ]]; then
    log "DATABASE_URL is set; using it instead of a local cluster"
    printf '%s\n' "$DATABASE_URL"
    exit 0
fi

mkdir -p "$DIR"
if [[ "$(id -u)" -eq 0 ]]; then
    id -u "$PG_OS_USER" >/dev/null 2>&1 \
        || die "running as root but there is no '$PG_OS_USER' OS user (initdb refuses root); create it, or set DATABASE_URL to an existing server"
    if [[ "$(stat -c %U "$DIR")" == root ]]; then
        chown -R "$PG_OS_USER:" "$DIR"
    fi
    # shellcheck disable=SC2016  # $1 is expanded by the inner sh
    if ! (cd / && runuser -u "$PG_OS_USER" -- test -x "$DIR" -a -w "$DIR") 2>/dev/null \
        && ! (cd / && su "$PG_OS_USER" -s /bin/sh -c 'test -x "$1" -a -w "$1"' sh "$DIR") 2>/dev/null; then
        die "the '$PG_OS_USER' OS user cannot reach $DIR (some parent directory is not traversable, e.g. /root is mode 700).
  Either set DATABASE_URL to an existing PostgreSQL server, or move the clone somewhere
  world-traversable (e.g. /srv or /home/<you>), or run as a non-root user."
    fi
fi

# Start or reuse (pg.sh is idempotent; its stdout is diverted so ours stays clean).
"$PG_SH" start "$DIR" "$PORT" >&2

PSQL="psql"
if ! command -v psql >/dev/null 2>&1; then
    PSQL="$("$PG_SH" bindir "$DIR")/psql"
fi
psql_admin() {
    "$PSQL" -X -w -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}

exists="$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'")" \
    || die "cannot query the server on 127.0.0.1:$PORT (is another server using that port? try LOCAL_PG_PORT=...)"
if [[ "$exists" != 1 ]]; then
    psql_admin -c "CREATE DATABASE $DB" >&2
    log "created database $DB"
fi

"$PG_SH" url "$PORT" "$DB"
