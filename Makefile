# Zabota — common tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
# Tests are I/O-bound (PostgreSQL, the Bot API emulator): run more of them at once than there are cores.
TEST_THREADS ?= 8

.PHONY: help run test lint fmt ci migrate serve set-webhook delete-webhook maintain db-start db-stop clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

run: ## Run the bot with long polling (starts a local PostgreSQL under .data/ unless DATABASE_URL is set)
	@infra/run-local.sh poll

serve: ## Run the local webhook server on LISTEN_ADDR (default 127.0.0.1:8080)
	@infra/run-local.sh serve

test: ## Run every test against a throwaway PostgreSQL and the Bot API emulator
	@infra/with-test-services.sh $(CARGO) test --workspace --all-targets -- --test-threads=$(TEST_THREADS)

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

ci: ## What CI runs: .ci/run
	@bash .ci/run

migrate: ## Apply migrations to DATABASE_URL (or the local .data/ cluster)
	@infra/run-local.sh migrate

maintain: ## Run the maintenance jobs once
	@infra/run-local.sh maintain

set-webhook: ## Point Telegram at URL=https://... with WEBHOOK_SECRET
	@test -n "$(URL)" || { echo "usage: make set-webhook URL=https://your-endpoint" >&2; exit 2; }
	$(CARGO) run --quiet --bin zabota -- set-webhook "$(URL)"

delete-webhook: ## Remove the webhook (needed before polling again)
	$(CARGO) run --quiet --bin zabota -- delete-webhook

db-start: ## Start (or reuse) the local PostgreSQL under .data/ and print its URL
	@infra/local-db.sh

db-stop: ## Stop the local PostgreSQL under .data/
	@infra/local-db.sh stop

clean: ## Remove build output (keeps .data/)
	$(CARGO) clean
