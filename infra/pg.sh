#!/usr/bin/env bash
# infra/pg.sh — run a local/throwaway PostgreSQL cluster from the machine's
# installed PostgreSQL binaries (no Docker, no system service, no sudo).
#
# Usage:
#   infra/pg.sh start DIR PORT [--fast]   initdb DIR if it is empty/missing, then
#                                         start it on 127.0.0.1:PORT (reuses a
#                                         server that is already running in DIR)
#   infra/pg.sh stop DIR                  fast shutdown; no-op if not running
#   infra/pg.sh status DIR                pg_ctl status (exit 0 = running, 3 = not)
#   infra/pg.sh url PORT [DB]             print postgres://postgres@127.0.0.1:PORT/DB
#   infra/pg.sh bindir [DIR]              print the PostgreSQL bin directory used
#
# Details:
#   * The cluster has a single superuser `postgres` with trust auth and listens
#     on 127.0.0.1 only; its unix socket lives inside DIR, its log is
#     DIR/server.log.  Never use this for anything exposed to a network.
#   * --fast (for tests) disables durability: fsync/synchronous_commit/
#     full_page_writes off, max_connections=300, shared_buffers=128MB.
#   * Binaries: $PG_BINDIR if set, else the bin dir matching DIR/PG_VERSION,
#     else the highest /usr/lib/postgresql/*/bin (or /usr/pgsql-*/bin), else
#     pg_ctl on PATH, else `pg_config --bindir`.
#   * As root, initdb/postgres refuse to run, so server commands run as the OS
#     user $PG_OS_USER (default: postgres) via runuser (or su).  DIR and all of
#     its parents must then be traversable by that user (not e.g. /root/...).
#   * Environment: PG_BINDIR, PG_OS_USER, PG_START_TIMEOUT (seconds, default
#     60), PG_SH_QUIET=1 (no success message).
#   * Exit codes: 0 ok, 1 error, 2 usage, 3 not running (status),
#     75 port already in use (start).
#
# The script can also be sourced (`. infra/pg.sh`) to reuse its pg_* functions;
# nothing runs on source.
set -euo pipefail

PG_OS_USER="${PG_OS_USER:-postgres}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"

pg_log() { printf 'pg.sh: %s\n' "$*" >&2; }
pg_die() { pg_log "error: $*"; exit 1; }

pg_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Quote one argument for /bin/sh (used only for the `su -c` fallback).
pg_sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

pg_require_os_user() {
    id -u "$PG_OS_USER" >/dev/null 2>&1 \
        || pg_die "running as root, but there is no '$PG_OS_USER' OS user to run PostgreSQL as (initdb refuses root). Create it (useradd --system --create-home $PG_OS_USER), set PG_OS_USER, or run as a normal user."
}

# Run a command as the PostgreSQL OS user when we are root, else as ourselves.
# Runs from / so an untraversable working directory (e.g. /root/...) does not
# trip up the postgres binaries.
pg_as_pg() {
    if ! pg_is_root; then
        "$@"
        return
    fi
    pg_require_os_user
    if command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        local cmd="" arg
        for arg in "$@"; do cmd+="$(pg_sh_quote "$arg") "; done
        (cd / && su "$PG_OS_USER" -s /bin/sh -c "$cmd")
    fi
}

pg_no_binaries() {
    pg_die "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found in /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin or on PATH.
  Install them, e.g.:   apt-get install -y postgresql   (Debian/Ubuntu; the system service is not needed)
  or point PG_BINDIR at a directory containing initdb/pg_ctl/postgres,
  or set TEST_DATABASE_URL (tests) / DATABASE_URL (make run) to an existing server."
}

pg_bindir_ok() {
    [[ -n "$1" && -x "$1/pg_ctl" && -x "$1/initdb" && -x "$1/postgres" ]]
}

# Major version of the binaries in a bin dir ("15").
pg_bin_major() {
    local v
    v="$("$1/pg_ctl" --version 2>/dev/null | awk '{print $3}')" || true
    printf '%s\n' "${v%%.*}"
}

# pg_find_bindir [DIR] — print the bin dir to use (see header).
pg_find_bindir() {
    local dir="${1:-}" cand want="" found=""
    if [[ -n "${PG_BINDIR:-}" ]]; then
        pg_bindir_ok "$PG_BINDIR" || pg_die "PG_BINDIR=$PG_BINDIR does not contain initdb, pg_ctl and postgres"
        printf '%s\n' "$PG_BINDIR"
        return
    fi
    if [[ -n "$dir" && -r "$dir/PG_VERSION" ]]; then
        want="$(head -n1 "$dir/PG_VERSION")"
        for cand in "/usr/lib/postgresql/$want/bin" "/usr/pgsql-$want/bin"; do
            if pg_bindir_ok "$cand"; then printf '%s\n' "$cand"; return; fi
        done
    fi
    # Highest version first.
    while IFS= read -r cand; do
        if pg_bindir_ok "$cand"; then found="$cand"; break; fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -rV; compgen -G '/usr/pgsql-*/bin' | sort -rV)
    if [[ -z "$found" ]] && command -v pg_ctl >/dev/null 2>&1; then
        cand="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
        pg_bindir_ok "$cand" && found="$cand"
    fi
    if [[ -z "$found" ]] && command -v pg_config >/dev/null 2>&1; then
        cand="$(pg_config --bindir 2>/dev/null || true)"
        pg_bindir_ok "$cand" && found="$cand"
    fi
    [[ -n "$found" ]] || pg_no_binaries
    if [[ -n "$want" && "$(pg_bin_major "$found")" != "$want" ]]; then
        pg_die "$dir was created by PostgreSQL $want, but only PostgreSQL $(pg_bin_major "$found") binaries were found ($found). Install PostgreSQL $want, set PG_BINDIR, or delete $dir to start over."
    fi
    printf '%s\n' "$found"
}

# Absolute, symlink-free path of an existing directory.
pg_abspath() { (cd "$1" && pwd -P); }

pg_url() {
    local port="$1" db="${2:-postgres}"
    printf 'postgres://postgres@127.0.0.1:%s/%s\n' "$port" "$db"
}

# pg_running DIR — 0 if a server is running in DIR (DIR must exist).
pg_running() {
    local dir="$1" bindir
    [[ -f "$dir/PG_VERSION" ]] || return 1
    bindir="$(pg_find_bindir "$dir")"
    pg_as_pg "$bindir/pg_ctl" status -D "$dir" >/dev/null 2>&1
}

# Port a running server in DIR listens on (line 4 of postmaster.pid).
pg_running_port() { sed -n 4p "$1/postmaster.pid" 2>/dev/null || true; }

pg_pick_locale_args() {
    if command -v locale >/dev/null 2>&1 && locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        printf '%s\n' "--locale=C.UTF-8"
    else
        printf '%s\n' "--no-locale"
    fi
}

pg_start() {
    local dir="" port="" fast=0 arg
    for arg in "$@"; do
        case "$arg" in
            --fast) fast=1 ;;
            -*) pg_die "start: unknown option $arg" ;;
            *) if [[ -z "$dir" ]]; then dir="$arg"; elif [[ -z "$port" ]]; then port="$arg"; else pg_die "start: too many arguments"; fi ;;
        esac
    done
    [[ -n "$dir" && -n "$port" ]] || { pg_log "usage: pg.sh start DIR PORT [--fast]"; exit 2; }
    if [[ ! "$port" =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
        pg_die "invalid port: $port"
    fi

    mkdir -p "$dir"
    dir="$(pg_abspath "$dir")"
    [[ "$dir" != *"'"* ]] || pg_die "data directory path must not contain a single quote: $dir"

    if pg_is_root; then
        pg_require_os_user
        local owner
        owner="$(stat -c %U "$dir")"
        if [[ "$owner" == root ]]; then
            chown -R "$PG_OS_USER:" "$dir"
        elif [[ "$owner" != "$PG_OS_USER" ]]; then
            pg_die "$dir is owned by '$owner', not '$PG_OS_USER'. Run as '$owner', or: chown -R $PG_OS_USER: $dir"
        fi
        if ! pg_as_pg test -x "$dir" -a -w "$dir"; then
            pg_die "the '$PG_OS_USER' OS user cannot access $dir (a parent directory is not traversable, e.g. /root is mode 700).
  Use a data directory under /tmp, move the clone somewhere world-traversable,
  or set TEST_DATABASE_URL / DATABASE_URL to an existing PostgreSQL server instead."
        fi
    fi

    local bindir
    bindir="$(pg_find_bindir "$dir")"

    if [[ -f "$dir/PG_VERSION" ]] && pg_running "$dir"; then
        local rport
        rport="$(pg_running_port "$dir")"
        if [[ -n "$rport" && "$rport" != "$port" ]]; then
            pg_die "a server is already running in $dir, but on port $rport (wanted $port). Stop it first: infra/pg.sh stop $dir"
        fi
        [[ "${PG_SH_QUIET:-}" == 1 ]] || pg_log "reusing running server in $dir on 127.0.0.1:$port"
        return 0
    fi

    if [[ ! -f "$dir/PG_VERSION" ]]; then
        if [[ -n "$(ls -A "$dir")" ]]; then
            pg_die "$dir is not empty and is not a PostgreSQL data directory; refusing to initdb into it"
        fi
        local locale_arg out
        locale_arg="$(pg_pick_locale_args)"
        if ! out="$(pg_as_pg "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 "$locale_arg" 2>&1)"; then
            if [[ "$locale_arg" != --no-locale ]]; then
                # Locale listed but unusable: retry without one (initdb cleans up after itself).
                find "$dir" -mindepth 1 -delete 2>/dev/null || true
                out="$(pg_as_pg "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale 2>&1)" \
                    || { printf '%s\n' "$out" >&2; pg_die "initdb failed for $dir"; }
            else
                printf '%s\n' "$out" >&2
                pg_die "initdb failed for $dir"
            fi
        fi
    fi

    # Unix socket inside DIR, unless the path is too long for sun_path or has
    # characters that would need quoting; then TCP only.
    local sockdir="$dir"
    if (( ${#dir} > 90 )) || [[ ! "$dir" =~ ^[A-Za-z0-9._/+-]+$ ]]; then
        sockdir=""
    fi
    local opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$sockdir'"
    if (( fast )); then
        opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB"
        # Statement counts for `make bench`, when the contrib module is installed.
        if [[ -f "$bindir/../lib/pg_stat_statements.so" ]]; then
            opts+=" -c shared_preload_libraries=pg_stat_statements"
        fi
    else
        opts+=" -c max_connections=100"
    fi

    local log="$dir/server.log" log_off=0
    [[ -f "$log" ]] && log_off="$(wc -c <"$log")"
    if ! pg_as_pg "$bindir/pg_ctl" start -s -w -t "$PG_START_TIMEOUT" -D "$dir" -l "$log" -o "$opts" >&2; then
        local new_log=""
        [[ -f "$log" ]] && new_log="$(tail -c "+$((log_off + 1))" "$log" | tail -n 30)"
        pg_log "failed to start PostgreSQL in $dir on 127.0.0.1:$port. Last lines of $log:"
        printf '%s\n' "${new_log:-(empty)}" | sed 's/^/    /' >&2
        if grep -qiE 'could not bind|address already in use|could not create any TCP/IP sockets' <<<"$new_log"; then
            pg_log "hint: port $port is already in use; choose another port (e.g. LOCAL_PG_PORT=...)."
            exit 75
        fi
        pg_log "hint: check the log above; to start over, stop any leftover server and delete $dir."
        exit 1
    fi
    [[ "${PG_SH_QUIET:-}" == 1 ]] || pg_log "PostgreSQL $(pg_bin_major "$bindir") started in $dir on 127.0.0.1:$port"
}

pg_stop() {
    local dir="${1:-}"
    [[ -n "$dir" ]] || { pg_log "usage: pg.sh stop DIR"; exit 2; }
    [[ -d "$dir" ]] || return 0
    dir="$(pg_abspath "$dir")"
    pg_running "$dir" || return 0
    local bindir
    bindir="$(pg_find_bindir "$dir")"
    pg_as_pg "$bindir/pg_ctl" stop -s -w -t "$PG_START_TIMEOUT" -m fast -D "$dir" >&2 \
        || pg_as_pg "$bindir/pg_ctl" stop -s -w -m immediate -D "$dir" >&2 \
        || pg_die "could not stop the server in $dir"
}

pg_status() {
    local dir="${1:-}"
    [[ -n "$dir" ]] || { pg_log "usage: pg.sh status DIR"; exit 2; }
    if [[ ! -f "$dir/PG_VERSION" ]]; then
        printf 'pg.sh: no PostgreSQL cluster in %s\n' "$dir"
        return 3
    fi
    dir="$(pg_abspath "$dir")"
    local bindir rc=0
    bindir="$(pg_find_bindir "$dir")"
    pg_as_pg "$bindir/pg_ctl" status -D "$dir" || rc=$?
    return "$rc"
}

pg_main() {
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
        start) pg_start "$@" ;;
        stop) pg_stop "$@" ;;
        status) pg_status "$@" ;;
        url)
            [[ $# -ge 1 && $# -le 2 ]] || { pg_log "usage: pg.sh url PORT [DB]"; exit 2; }
            pg_url "$@" ;;
        bindir) pg_find_bindir "${1:-}" ;;
        -h|--help|help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" ;;
        *) pg_log "usage: pg.sh {start DIR PORT [--fast]|stop DIR|status DIR|url PORT [DB]|bindir [DIR]}"; exit 2 ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    pg_main "$@"
fi
