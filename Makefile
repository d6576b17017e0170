# The two entry points a newcomer needs. Both install what they need (Python tools into .venv/,
# Debian's lua5.1) and need no AWS account and no cluster.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: sandbox test tools lint unit-and-e2e generate bench

## Run rolesmith locally: test API server + local IAM (moto) + fake EKS + the operator + examples/.
# kube-sim and fake-eks are workspace members: `--workspace --bins` builds all binaries, with the
# same features as `make test`'s build (so after it, this build is a no-op).
sandbox: tools
	$(CARGO) build --workspace --bins
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
	$(CARGO) build --workspace --bins
	bash scripts/generate.sh

## Measure: planning cost, fleet convergence, reads per in-sync reconcile, operator memory.
## Not run by `make test`: it needs far longer than CI has (an optimized build, then fleets of
## 1,000 and 10,000 roles); `make lint` compiles its code. It starts kube-sim in-process.
bench: tools
	$(CARGO) bench --bench fleet
