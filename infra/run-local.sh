#!/usr/bin/env bash
# infra/run-local.sh — `make run` / `make serve` / `make migrate`: build `zabota` and run one of its commands
# against DATABASE_URL (from the environment or .env) or, when none is configured, a local PostgreSQL under .data/.
#
# `poll` without a BOT_TOKEN (in the environment or .env) runs the sandbox instead: the real desk on a built-in
# Bot API server, behind a web page (`zabota sandbox`).
#
# Usage: infra/run-local.sh poll|serve|sandbox|migrate|maintain|export|check-desk [ARGS…]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command="${1:-poll}"
shift || true

token_configured() {
    [[ -n "${BOT_TOKEN:-}" ]] && return 0
    [[ -f .env ]] && grep -Eq '^[[:space:]]*(export[[:space:]]+)?BOT_TOKEN=[^[:space:]]' .env
}
if [[ "$command" == poll ]] && ! token_configured; then
    echo "BOT_TOKEN is not set (environment or .env): starting the sandbox, a bot you can try in the browser." >&2
    echo "To run your real bot, put BOT_TOKEN and OPERATORS_CHAT_ID in .env (see .env.example)." >&2
    command=sandbox
fi

# Is a database configured, in the environment or in .env? (zabota itself reads .env; this only decides
# whether to start the local cluster.)
configured() {
    [[ -n "${DATABASE_URL:-}" || -n "${POSTGRES_HOST:-}" ]] && return 0
    [[ -f .env ]] && grep -Eq '^[[:space:]]*(export[[:space:]]+)?(DATABASE_URL|POSTGRES_HOST)=[^[:space:]]' .env
}

[[ -x target/debug/zabota ]] || echo "building zabota for the first time: a few minutes (6 on 2 cores), cargo shows its progress" >&2
cargo build --bin zabota
# Checking a desk file needs no database.
if [[ "$command" == check-desk ]]; then
    exec target/debug/zabota check-desk "$@"
fi
if ! configured; then
    DATABASE_URL="$(infra/local-db.sh)"
    export DATABASE_URL
    echo "using the local PostgreSQL at $DATABASE_URL (stop it with: make db-stop)" >&2
fi
# The sandbox migrates a database of its own (beside DATABASE_URL's).
# Its report goes to stderr: stdout is the command's own (an export is written there).
if [[ "$command" != migrate && "$command" != sandbox ]]; then
    target/debug/zabota migrate >&2
fi
exec target/debug/zabota "$command" "$@"
