# Twitter-like backend: Python gRPC services behind an Envoy REST edge.
# `make up` brings the whole local stack up; `make test` runs the suite against it.

SHELL := /bin/bash
PY := .venv/bin/python
PYTEST_ARGS ?=
BENCH ?=

.PHONY: help venv gen check-gen lint fmt up down status trace test bench chaos clean \
	k8s-validate k8s-apiserver-check k8s-up k8s-down k8s-e2e image image-smoke backup backup-list restore restore-drill

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

venv: ## Install the pinned Python toolchain and dependencies into .venv
	@tools/bootstrap.sh

gen: venv ## Rebuild generated/ (Python, Go, TypeScript stubs, Envoy descriptor, OpenAPI) from protos/
	@tools/gen_protos.sh

check-gen: gen ## Fail when generated/ is stale
	@git diff --exit-code --stat -- generated/ || \
	  (echo "generated/ is stale: run 'make gen' and commit" >&2; exit 1)
	@test -z "$$(git ls-files --others --exclude-standard generated/)" || \
	  (echo "generated/ has untracked files: run 'make gen' and commit" >&2; exit 1)

lint: gen ## buf lint + breaking (against main), contract options, Go/TS stubs compile, ruff, mypy, alert rules and dashboards
	@.venv/bin/buf lint
	@tools/buf_breaking.sh main
	@$(PY) tools/check_contracts.py
	@tools/compile_stubs.sh
	@.venv/bin/ruff check .
	@.venv/bin/mypy services stack edge tests benchmarks tools
	@$(PY) tools/check_monitoring.py
	@$(PY) tools/k8s/validate.py

k8s-validate: venv ## Every k8s kustomization: builds, strict schemas, pod security, Envoy config
	@$(PY) tools/k8s/validate.py

k8s-apiserver-check: venv ## Optional: a real kube-apiserver + etcd (built once, cached) applies every overlay server-side, v1 then v2
	@tools/k8s/install_apiserver.sh
	@tools/k8s/apiserver_check.sh

k8s-up: ## Optional (root): a single-node cluster on this machine (etcd ... CoreDNS, loopback only; binaries built once, cached)
	@tools/k8s/cluster_up.sh

k8s-down: ## Optional (root): stop that cluster and restore the machine (sysctls, nft, mounts, /var state); prints the check
	@tools/k8s/cluster_down.sh

k8s-e2e: venv ## Optional (root, heavy): k8s/README.md's walk on that cluster: datastores, dev app, e2e, v2 rollout and pod kills under traffic
	@tools/k8s/e2e.sh

image: ## Optional (root): build the image without a container engine (mmdebstrap + uv + umoci) into build/image
	@tools/image/build.sh $(or $(TAG),dev)

image-smoke: ## Optional (root): start users from the built image (unshare + chroot) and ask its gRPC health
	@tools/image/smoke.sh

fmt: venv ## Format and autofix
	@.venv/bin/ruff check --fix .

up: venv ## Install what is missing and start the whole stack (idempotent; TOPOLOGY=ha: every store replicated, docs/HA.md)
	@$(PY) -m stack up
	@$(PY) -m stack.backup store-if-configured

down: ## Stop everything `make up` started (either topology; TOPOLOGY=ha: that one only)
	@if [ -x $(PY) ]; then $(PY) -m stack down && $(PY) -m stack.backup store-stop; fi

status: venv ## Show every component and its health
	@$(PY) -m stack status

trace: venv ## Span tree of the latest request with x-request-id ID (default: the latest one)
	@$(PY) -m stack trace $(ID)

# Two tweets processes under test, as replicas run in production: the suite
# covers what they share (idempotent retries racing on two processes, a frozen
# one leaving the edge's rotation). `make up` alone runs one (stack/topology.py).
test: export TWEETS_PROCESSES ?= 2
test: up ## Run the whole test suite against the running stack
	@$(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks measure the stack as production runs it: 1% of requests traced
# (k8s/base/config.env, k8s/base/edge.env), not every one as `make up` does for
# debugging; `up` restarts the services when this changes. Set the variables
# to measure otherwise (EDGE_TRACE_SAMPLING_PERCENT=100 ...).
bench: export OTEL_TRACES_SAMPLER ?= parentbased_traceidratio
bench: export OTEL_TRACES_SAMPLER_ARG ?= 0.01
bench: export EDGE_TRACE_SAMPLING_PERCENT ?= 1
bench: up ## Run the benchmarks at production's trace sampling (figures printed as percentiles and ratios)
	@$(PY) -m benchmarks $(BENCH)

chaos: up ## Stop or kill each store, a service and a worker under traffic; print the table (TOPOLOGY=ha: SIGKILL one node of each store)
	@$(PY) -m tests.chaos $(CHAOS_ARGS)

backup: up ## Back every durable store up to the backup store's S3 bucket under a new label
	@$(PY) -m stack.backup backup

backup-list: venv ## The labels in the backup store
	@$(PY) -m stack.backup list

restore: venv ## Restore BACKUP=<label> into an empty stack (TIME=<ISO time> for PostgreSQL; FORCE=1 moves existing data aside)
	@test -n "$(BACKUP)" || (echo "usage: make restore BACKUP=<label> [TIME=...] [FORCE=1]" >&2; exit 2)
	@$(PY) -m stack.backup restore $(BACKUP) $(if $(TIME),--time $(TIME)) $(if $(FORCE),--force)

restore-drill: up ## Backup under write traffic, destroy every data directory, restore, verify; prints RPO, RTO, size
	@$(PY) -m tests.drill $(DRILL_ARGS)

clean: down ## Stop the stack and delete its data
	rm -rf .data .data-ha build
