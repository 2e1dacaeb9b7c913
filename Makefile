# Zabota — common tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
# Tests are I/O-bound (PostgreSQL, the Bot API emulator): run more of them at once than there are cores.
TEST_THREADS ?= 8

.PHONY: help run sandbox test test-faults fuzz lint fmt ci migrate serve check-desk set-commands set-webhook delete-webhook maintain export db-start db-stop clean \
	build sam-build deploy cfn-lint security-lint logs stack-url bench

# AWS: the CloudFormation stack, and the Lambda architecture (arm64 in production; x86_64 where the arm64
# Rust standard library cannot be installed).
STACK ?= zabota
ARCH ?= arm64
ifeq ($(ARCH),arm64)
LAMBDA_ARCH_FLAG := --arm64
RUST_TARGET := aarch64-unknown-linux-gnu
else
LAMBDA_ARCH_FLAG := --x86-64
RUST_TARGET := x86_64-unknown-linux-gnu
endif
TOOLS := $(CURDIR)/.tools/bin

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

run: ## Run the bot with long polling; without BOT_TOKEN, the sandbox (starts a local PostgreSQL under .data/ unless DATABASE_URL is set)
	@infra/run-local.sh poll

sandbox: ## Try the desk in the browser without Telegram: the real bot on a built-in Bot API server, http://127.0.0.1:8080/ (SANDBOX_LISTEN)
	@infra/run-local.sh sandbox

serve: ## Run the local webhook server on LISTEN_ADDR (default 127.0.0.1:8080)
	@infra/run-local.sh serve

test: ## Run every test against a throwaway PostgreSQL and the Bot API emulator
	@infra/with-test-services.sh $(CARGO) test --workspace --all-targets -- --test-threads=$(TEST_THREADS)

test-faults: ## Only the fault suite (also in make test): redelivery storms, Bot API failures, 50x20 claims, a PostgreSQL restart
	@infra/with-test-services.sh $(CARGO) test --workspace --test faults -- --test-threads=$(TEST_THREADS)

fuzz: ## Run each property test over untrusted input for FUZZ_SECONDS (default 180) and print the executions
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-180} infra/with-test-services.sh $(CARGO) test --workspace --test properties -- \
	  --nocapture --test-threads=2

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

ci: ## What CI runs: .ci/run
	@bash .ci/run

migrate: ## Apply migrations to DATABASE_URL (or the local .data/ cluster); the deploy step for schema changes
	@infra/run-local.sh migrate

maintain: ## Run the maintenance jobs once
	@infra/run-local.sh maintain

export: ## Tickets opened since SINCE (YYYY-MM-DD; UNTIL, TICKET optional) as JSON Lines on stdout: make export SINCE=2026-06-01 > tickets.jsonl
	@[ -n "$(SINCE)" ] || { echo "usage: make export SINCE=YYYY-MM-DD [UNTIL=YYYY-MM-DD] [TICKET=N] > tickets.jsonl" >&2; exit 2; }
	@infra/run-local.sh export --since "$(SINCE)" $(if $(UNTIL),--until "$(UNTIL)") $(if $(TICKET),--ticket "$(TICKET)")

check-desk: ## Check a desk file (FILE, default: DESK_CONFIG or the built-in desk.toml): every problem with its line
	@infra/run-local.sh check-desk $(if $(FILE),"$(FILE)")

set-commands: ## Register the command menus with Telegram now (the maintenance jobs also do whenever they change)
	@infra/run-local.sh set-commands

set-webhook: ## Point Telegram at URL (default: the deployed stack's WebhookUrl) with WEBHOOK_SECRET
	@url="$(URL)"; [ -n "$$url" ] || url="$$($(MAKE) --no-print-directory stack-url)"; \
	  [ -n "$$url" ] || { echo "usage: make set-webhook URL=https://your-endpoint (or deploy the stack first)" >&2; exit 2; }; \
	  $(CARGO) run --quiet --bin zabota -- set-webhook "$$url" --max-connections $${MAX_CONNECTIONS:-20}

delete-webhook: ## Remove the webhook (needed before polling again)
	$(CARGO) run --quiet --bin zabota -- delete-webhook

db-start: ## Start (or reuse) the local PostgreSQL under .data/ and print its URL
	@infra/local-db.sh

db-stop: ## Stop the local PostgreSQL under .data/
	@infra/local-db.sh stop

# The target's standard library, which every Lambda build needs.
define rust_target
	@rustup target list --installed 2>/dev/null | grep -qx $(RUST_TARGET) || rustup target add $(RUST_TARGET) || \
	  { echo "the $(RUST_TARGET) standard library is missing and cannot be installed here; try ARCH=x86_64" >&2; exit 1; }
endef

# Both builds below read the features from [workspace.metadata.lambda.build] in Cargo.toml, so they produce the
# same binaries.
build: ## Build both Lambda bootstrap zips with cargo-lambda (ARCH=arm64|x86_64) into target/lambda/
	$(rust_target)
	@infra/tools.sh cargo-lambda >/dev/null
	PATH="$(TOOLS):$$PATH" $(CARGO) lambda build --release $(LAMBDA_ARCH_FLAG) --output-format zip \
	  --bin webhook --bin maintenance
	@ls -l target/lambda/webhook/bootstrap.zip target/lambda/maintenance/bootstrap.zip

bench: ## Benchmark: whole dialogs via the webhook entry, per-kind costs, the Lambda binary, pgbench, a ticket storm; writes bench/results.json
	$(CARGO) build --profile bench -p webhook -p zabota-bench
	@infra/with-test-services.sh target/release/zabota-bench

cfn-lint: ## Lint template.yaml with cfn-lint (offline)
	@"$$(infra/tools.sh cfn-lint)" template.yaml && echo "template.yaml: cfn-lint clean"

# --skip-download: no Prisma Cloud guidelines or policies are fetched, so the scan needs no network; --framework
# keeps it to the template (no secrets or dependency scans of the repository).
security-lint: ## Security-scan template.yaml with checkov (offline; skips are in the template, with reasons)
	@"$$(infra/tools.sh checkov)" --file template.yaml --framework cloudformation --skip-download --compact --quiet \
	  && echo "template.yaml: checkov clean"

sam-build: ## What make deploy builds, without deploying: sam validate --lint, then sam build into .aws-sam/
	$(rust_target)
	@infra/tools.sh sam >/dev/null; infra/tools.sh cargo-lambda >/dev/null
	PATH="$(TOOLS):$$PATH" sam validate --lint
	PATH="$(TOOLS):$$PATH" sam build --beta-features --parameter-overrides Architecture=$(ARCH)

deploy: sam-build ## sam build + sam deploy (guided the first time; later runs reuse samconfig.toml)
	@if [ -f samconfig.toml ]; then PATH="$(TOOLS):$$PATH" sam deploy --stack-name $(STACK); \
	  else PATH="$(TOOLS):$$PATH" sam deploy --guided --stack-name $(STACK) --capabilities CAPABILITY_IAM \
	    --parameter-overrides Architecture=$(ARCH); fi

stack-url: ## Print the deployed stack's WebhookUrl
	@PATH="$(TOOLS):$$PATH" "$$(infra/tools.sh sam)" list stack-outputs --stack-name $(STACK) --output json | \
	  python3 -c 'import json,sys; print(next(o["OutputValue"] for o in json.load(sys.stdin) if o["OutputKey"] == "WebhookUrl"))'

logs: ## Tail the webhook function's logs (FUNCTION=maintenance for the other one)
	@infra/tools.sh sam >/dev/null
	PATH="$(TOOLS):$$PATH" sam logs --stack-name $(STACK) --name $(if $(FUNCTION),$(FUNCTION),Webhook)Function --tail

clean: ## Remove build output (keeps .data/)
	$(CARGO) clean
