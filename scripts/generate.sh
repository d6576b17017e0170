#!/usr/bin/env bash
# `make generate`: regenerates every generated file from its source (the CRD from the Rust types,
# the chart's copy of it, deploy/ from the chart). A file is replaced (atomically) only when its
# content changes, so on an up-to-date tree nothing is touched and readers never see a half file.
# Expects `cargo build --workspace --bins` first (the Makefile does it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=$(bash scripts/target-dir.sh)

# update FILE COMMAND...: FILE becomes COMMAND's output if that differs from FILE.
update() {
  local file=$1 tmp
  shift
  tmp=$(mktemp "$file.XXXXXX")
  if ! "$@" >"$tmp"; then rm -f "$tmp"; echo "generate: $* failed" >&2; exit 1; fi
  if cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    chmod 0644 "$tmp"
    mv "$tmp" "$file"
    echo "generate: wrote $file"
  fi
}

update crds/iamroles.iam.rolesmith.dev.yaml "$target/debug/rolesmith" crd --kind IamRole
update charts/rolesmith/crds/iamroles.iam.rolesmith.dev.yaml cat crds/iamroles.iam.rolesmith.dev.yaml
update crds/iampolicies.iam.rolesmith.dev.yaml "$target/debug/rolesmith" crd --kind IamPolicy
update charts/rolesmith/crds/iampolicies.iam.rolesmith.dev.yaml cat crds/iampolicies.iam.rolesmith.dev.yaml
update crds/roleguardrails.iam.rolesmith.dev.yaml "$target/debug/rolesmith" crd --kind RoleGuardrail
update charts/rolesmith/crds/roleguardrails.iam.rolesmith.dev.yaml cat crds/roleguardrails.iam.rolesmith.dev.yaml
update crds/awsaccounts.iam.rolesmith.dev.yaml "$target/debug/rolesmith" crd --kind AwsAccount
update charts/rolesmith/crds/awsaccounts.iam.rolesmith.dev.yaml cat crds/awsaccounts.iam.rolesmith.dev.yaml
update crds/iamservicelinkedroles.iam.rolesmith.dev.yaml "$target/debug/rolesmith" crd --kind IamServiceLinkedRole
update charts/rolesmith/crds/iamservicelinkedroles.iam.rolesmith.dev.yaml cat crds/iamservicelinkedroles.iam.rolesmith.dev.yaml
bash scripts/render-deploy.sh
