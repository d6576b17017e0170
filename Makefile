# The two entry points a newcomer needs. Both install what they need (Python tools into .venv/,
# Debian's lua5.1) and need no AWS account and no cluster.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: sandbox test tools lint unit-and-e2e generate bench

## Run rolesmith locally: test API server + local IAM (moto) + the operator + examples/.
sandbox: tools
	$(CARGO) build --bin rolesmith --bin kube-sim
	bash scripts/sandbox.sh

## Everything CI runs.
test: tools lint unit-and-e2e

tools:
	bash scripts/venv.sh
	bash scripts/system-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit-and-e2e:
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

## Regenerate generated files from their sources (tests fail until they are equal).
generate: tools
	$(CARGO) run -q --bin rolesmith -- crd > crds/iamroles.iam.rolesmith.dev.yaml
	cp crds/iamroles.iam.rolesmith.dev.yaml charts/rolesmith/crds/
	bash scripts/render-deploy.sh

## Measure: planning cost, fleet convergence, reads per in-sync reconcile, operator memory.
bench: tools
	$(CARGO) build --bin kube-sim
	$(CARGO) bench --bench fleet
