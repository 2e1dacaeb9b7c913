#!/usr/bin/env bash
# infra/with-test-services.sh — run a command with throwaway test services.
#
# Usage:
#   infra/with-test-services.sh CMD [ARGS...]
#   e.g. infra/with-test-services.sh cargo nextest run --workspace
#
# If TEST_DATABASE_URL is already set, CMD is simply exec'd with it.
# Otherwise a fresh PostgreSQL cluster is created in a temp dir under /tmp
# (via infra/pg.sh start DIR PORT --fast) on a free port of 127.0.0.1, and CMD
# runs with TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres
# exported (tests create their own databases from it).  When CMD exits, fails,
# or the script gets INT/TERM, the cluster is stopped and the temp dir removed;
# the script exits with CMD's exit status (130/143 on INT/TERM).
#
# Needs the PostgreSQL server binaries (see infra/pg.sh) and python3 (to pick
# a free port; falls back to probing random ports).  Works as root (the server
# then runs as the `postgres` OS user) and without stdin (CI=true).
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

if [[ -n "${TEST_DATABASE_URL:-}" && -n "${TEST_AWS_ENDPOINT:-}" && -n "${TEST_WEBDRIVER_URL:-}" &&
    -n "${TEST_FIREFOX_WEBDRIVER_URLS:-}" ]]; then
    exec "$@"
fi

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
PG_SH="$SCRIPT_DIR/pg.sh"
PG_OS_USER="${PG_OS_USER:-postgres}"

log() { printf 'with-test-services: %s\n' "$*" >&2; }

# Print a TCP port on 127.0.0.1 that is free right now.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
        return
    fi
    local port i
    for i in $(seq 1 50); do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        # A refused connection means nobody listens there.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return
        fi
        : "$i"
    done
    log "could not find a free TCP port"
    return 1
}

TMP_DIR=""
PG_DIR=""
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    if [[ -n "$PG_DIR" ]]; then
        "$PG_SH" stop "$PG_DIR" || log "warning: could not stop PostgreSQL in $PG_DIR"
        PG_DIR=""
    fi
    stop_s3 || true
    stop_browser || true
    if [[ -n "$TMP_DIR" ]]; then
        rm -rf -- "$TMP_DIR" || log "warning: could not remove $TMP_DIR"
        TMP_DIR=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_postgres() {
    TMP_DIR="$(mktemp -d /tmp/zabota-test-pg.XXXXXX)"
    if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
        log "using the PostgreSQL at TEST_DATABASE_URL"
        return
    fi
    chmod 755 "$TMP_DIR"
    if [[ "$(id -u)" -eq 0 ]] && id -u "$PG_OS_USER" >/dev/null 2>&1; then
        chown "$PG_OS_USER:" "$TMP_DIR"
    fi
    PG_DIR="$TMP_DIR"
    local port rc attempt
    for attempt in 1 2 3; do
        port="$(free_port)"
        rc=0
        PG_SH_QUIET=1 "$PG_SH" start "$PG_DIR" "$port" --fast || rc=$?
        if [[ $rc -eq 0 ]]; then
            break
        fi
        # 75 = port taken between picking and binding: try another one.
        if [[ $rc -ne 75 || $attempt -eq 3 ]]; then
            exit "$rc"
        fi
        log "port $port was taken, retrying with another port"
    done
    TEST_DATABASE_URL="$("$PG_SH" url "$port" postgres)"
    export TEST_DATABASE_URL
    local bindir version
    bindir="$("$PG_SH" bindir "$PG_DIR")"
    version="$("$bindir/pg_ctl" --version | awk '{print $3}')"
    log "PostgreSQL $version running at $TEST_DATABASE_URL (data dir $PG_DIR, removed on exit)"
}

# An AWS API server on loopback (moto, from PyPI, installed into .tools/ by infra/tools.sh): S3 for the media
# archive and Secrets Manager for the Lambda configuration. Tests read TEST_AWS_ENDPOINT.
AWS_PID=""
start_s3() {
    if [[ -n "${TEST_AWS_ENDPOINT:-}" ]]; then
        return
    fi
    local moto port i
    moto="$("$SCRIPT_DIR/tools.sh" moto)"
    port="$(free_port)"
    "$moto" -H 127.0.0.1 -p "$port" >"$TMP_DIR/moto.log" 2>&1 </dev/null &
    AWS_PID=$!
    for ((i = 0; i < 100; i++)); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
            export TEST_AWS_ENDPOINT
            log "AWS API server (moto) running at $TEST_AWS_ENDPOINT"
            return
        fi
        if ! kill -0 "$AWS_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    log "error: moto_server did not start; its log:"
    tail -n 20 "$TMP_DIR/moto.log" >&2 || true
    exit 1
}

# shellcheck disable=SC2317  # invoked from cleanup (trap)
stop_s3() {
    if [[ -n "$AWS_PID" ]]; then
        kill "$AWS_PID" 2>/dev/null || true
        wait "$AWS_PID" 2>/dev/null || true
        AWS_PID=""
    fi
}

# Headless browsers for the sandbox page's end-to-end tests, each behind its WebDriver server on a free port:
# Chromium (Debian's chromium and chromium-driver) at TEST_WEBDRIVER_URL, and Firefox (Debian's firefox-esr, with
# geckodriver built by cargo install, as Debian ships none) at the two TEST_FIREFOX_WEBDRIVER_URLS (geckodriver
# serves one session at a time; the test needs two windows). What is missing is installed (apt-get as root; cargo).
# When a browser cannot be had, the script goes on and that test fails with the reason (TEST_*_ERROR).
DRIVER_PIDS=()
GECKODRIVER_VERSION=0.37.1

# start_driver NAME CMD [ARGS...]: runs a WebDriver server with --port=FREE; sets DRIVER_URL when it answers.
start_driver() {
    local name="$1" port i pid
    shift
    port="$(free_port)"
    DRIVER_URL=""
    "$@" --port="$port" >"$TMP_DIR/$name.log" 2>&1 </dev/null &
    pid=$!
    DRIVER_PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/status', timeout=0.5)" 2>/dev/null; then
            DRIVER_URL="http://127.0.0.1:$port"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    return 1
}

apt_install() {
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing $* (Debian packages) for the browser tests ..."
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$TMP_DIR/apt.log" 2>&1 ||
            { apt-get update -q >>"$TMP_DIR/apt.log" 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$TMP_DIR/apt.log" 2>&1; } ||
            tail -n 5 "$TMP_DIR/apt.log" >&2
    fi
}

start_chromium() {
    if [[ -n "${TEST_WEBDRIVER_URL:-}" ]]; then
        return
    fi
    if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
        apt_install chromium chromium-driver
    fi
    if ! command -v chromedriver >/dev/null 2>&1; then
        export TEST_WEBDRIVER_ERROR="chromedriver is not installed: apt-get install chromium chromium-driver (Debian), or set TEST_WEBDRIVER_URL to a running WebDriver server"
        log "warning: $TEST_WEBDRIVER_ERROR"
        return
    fi
    # chromedriver accepts local connections only unless told otherwise (never pass an empty --allowed-ips).
    if start_driver chromedriver chromedriver; then
        export TEST_WEBDRIVER_URL="$DRIVER_URL"
        log "chromedriver $(chromedriver --version | awk '{print $2}') running at $TEST_WEBDRIVER_URL"
    else
        export TEST_WEBDRIVER_ERROR="chromedriver did not start: $(tail -n 3 "$TMP_DIR/chromedriver.log" | tr '\n' ' ')"
        log "warning: $TEST_WEBDRIVER_ERROR"
    fi
}

start_firefox() {
    if [[ -n "${TEST_FIREFOX_WEBDRIVER_URLS:-}" ]]; then
        return
    fi
    if ! command -v firefox-esr >/dev/null 2>&1 && ! command -v firefox >/dev/null 2>&1; then
        apt_install firefox-esr
    fi
    if ! command -v geckodriver >/dev/null 2>&1 && command -v cargo >/dev/null 2>&1; then
        log "building geckodriver $GECKODRIVER_VERSION (cargo install, about 2 minutes once) for the Firefox test ..."
        cargo install --quiet --locked geckodriver --version "$GECKODRIVER_VERSION" >"$TMP_DIR/geckodriver-install.log" 2>&1 ||
            tail -n 5 "$TMP_DIR/geckodriver-install.log" >&2
    fi
    local binary
    binary="$(command -v firefox-esr || command -v firefox || true)"
    if [[ -z "$binary" ]] || ! command -v geckodriver >/dev/null 2>&1; then
        export TEST_FIREFOX_ERROR="Firefox or geckodriver is missing: apt-get install firefox-esr and cargo install geckodriver, or set TEST_FIREFOX_WEBDRIVER_URLS to two running geckodriver servers"
        log "warning: $TEST_FIREFOX_ERROR"
        return
    fi
    local urls=() n
    for n in 1 2; do
        if start_driver "geckodriver-$n" geckodriver --host 127.0.0.1 --binary "$binary"; then
            urls+=("$DRIVER_URL")
        else
            export TEST_FIREFOX_ERROR="geckodriver did not start: $(tail -n 3 "$TMP_DIR/geckodriver-$n.log" | tr '\n' ' ')"
            log "warning: $TEST_FIREFOX_ERROR"
            return
        fi
    done
    export TEST_FIREFOX_WEBDRIVER_URLS="${urls[*]}"
    log "geckodriver $(geckodriver --version | awk 'NR==1 {print $2}') running at $TEST_FIREFOX_WEBDRIVER_URLS"
}

start_browser() {
    start_chromium
    start_firefox
}

# shellcheck disable=SC2317  # invoked from cleanup (trap)
stop_browser() {
    local pid
    for pid in "${DRIVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    DRIVER_PIDS=()
}

start_postgres
start_s3
start_browser

status=0
"$@" || status=$?
exit "$status"
