#!/usr/bin/env bash
# infra/run-local.sh — `make run` / `make serve` / `make migrate`: build `zabota` and run one of its commands
# against DATABASE_URL (from the environment or .env) or, when none is configured, a local PostgreSQL under .data/.
#
# Usage: infra/run-local.sh poll|serve|migrate|maintain
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command="${1:-poll}"

# Is a database configured, in the environment or in .env? (zabota itself reads .env; this only decides
# whether to start the local cluster.)
configured() {
    [[ -n "${DATABASE_URL:-}" || -n "${POSTGRES_HOST:-}" ]] && return 0
    [[ -f .env ]] && grep -Eq '^[[:space:]]*(export[[:space:]]+)?(DATABASE_URL|POSTGRES_HOST)=[^[:space:]]' .env
}

[[ -x target/debug/zabota ]] || echo "building zabota for the first time: a few minutes (about 4 on 2 cores), cargo shows its progress" >&2
cargo build --bin zabota
if ! configured; then
    DATABASE_URL="$(infra/local-db.sh)"
    export DATABASE_URL
    echo "using the local PostgreSQL at $DATABASE_URL (stop it with: make db-stop)" >&2
fi
if [[ "$command" != migrate ]]; then
    target/debug/zabota migrate
fi
exec target/debug/zabota "$command"
