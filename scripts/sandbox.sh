#!/usr/bin/env bash
# The local sandbox: the test API server (kube-sim), a local IAM endpoint (moto), a fake EKS Pod
# Identity endpoint (fake-eks: moto has none) and the operator, all on 127.0.0.1, with the CRD and
# examples/ applied. No AWS account and no cluster needed.
#
# Interactive by default: prints how to use the kubeconfig, then waits for Ctrl-C and stops
# everything it started. SANDBOX_ONESHOT=1 stops right after showing the result (used by tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="${ROLESMITH_VENV:-$root/.venv}"
target=$(bash scripts/target-dir.sh)
rolesmith="${ROLESMITH_BIN:-$target/debug/rolesmith}"
kube_sim="${KUBE_SIM_BIN:-$target/debug/kube-sim}"
fake_eks="${FAKE_EKS_BIN:-$target/debug/fake-eks}"
work="${SANDBOX_DIR:-$root/.sandbox}"
timeout="${SANDBOX_READY_TIMEOUT:-180s}"

for bin in "$rolesmith" "$kube_sim" "$fake_eks" "$venv/bin/moto_server" "$venv/bin/kubectl"; do
  [ -x "$bin" ] || { echo "sandbox: $bin is missing: run 'make sandbox'" >&2; exit 1; }
done
rm -rf "$work"; mkdir -p "$work/home"
export KUBECONFIG="$work/kubeconfig"
# kubectl caches discovery under $HOME: keep the sandbox's apart from the user's.
kubectl() { HOME="$work/home" "$venv/bin/kubectl" "$@"; }

# Ctrl-C reaches every process in the terminal's process group, but a script's background
# processes ignore SIGINT (moto and the final `sleep` keep ignoring it): the trap stops each of
# them with SIGTERM, and with SIGKILL whatever still runs 10 s later. A second Ctrl-C does not cut
# the cleanup short (it would leave the rest running).
running() { # the given processes that have not exited (zombies have; bash may not reap at once)
  local pid
  for pid in "$@"; do
    case $(ps -o stat= -p "$pid" 2>/dev/null) in '' | Z*) ;; *) echo "$pid" ;; esac
  done
}
cleanup() {
  trap '' INT TERM
  trap - EXIT
  local started
  started=$(jobs -p)
  kill $started 2>/dev/null || true
  for _ in $(seq 100); do [ -z "$(running $started)" ] && break; sleep 0.1; done
  kill -KILL $(running $started) 2>/dev/null || true
  wait 2>/dev/null || true
  echo "sandbox: stopped everything it started"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for DESCRIPTION COMMAND...
  local what=$1; shift
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "sandbox: $what did not come up; logs in $work/" >&2; exit 1
}

iam_port=$(free_port)
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$venv/bin/moto_server" -H 127.0.0.1 -p "$iam_port" >"$work/iam.log" 2>&1 &
iam="http://127.0.0.1:$iam_port"
wait_for "IAM (moto)" "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$iam/moto-api/')"

# The cluster's OIDC provider, made up (IRSA entries in examples/ need one), and its EKS API.
oidc_provider=$("$venv/bin/python" - "$iam" <<'PY'
import sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
print(iam.create_open_id_connect_provider(
    Url="https://oidc.eks.us-east-1.amazonaws.com/id/SANDBOX",
    ClientIDList=["sts.amazonaws.com"],
    ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])["OpenIDConnectProviderArn"])
PY
)
eks_port=$(free_port)
"$fake_eks" --port "$eks_port" --cluster sandbox >"$work/eks.log" 2>&1 &
eks="http://127.0.0.1:$eks_port"
wait_for "EKS (fake-eks)" "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$eks/clusters/sandbox/pod-identity-associations')"

"$kube_sim" --kubeconfig "$KUBECONFIG" >"$work/kube-sim.log" 2>&1 &
wait_for "the API server" test -s "$KUBECONFIG"
wait_for "the API server" kubectl get namespaces

kubectl apply -f crds/ >/dev/null
kubectl wait --for=condition=Established crd/iamroles.iam.rolesmith.dev crd/iampolicies.iam.rolesmith.dev \
  crd/iamservicelinkedroles.iam.rolesmith.dev --timeout=30s >/dev/null

metrics_port=$(free_port)
AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_REGION=us-east-1 \
  "$rolesmith" run --cluster-id sandbox --iam-endpoint "$iam" --resync-interval 30s \
  --metrics-addr "127.0.0.1:$metrics_port" --oidc-provider-arn "$oidc_provider" \
  --eks-cluster-name sandbox --eks-endpoint "$eks" >"$work/rolesmith.log" 2>&1 &

kubectl apply -f examples/
echo
echo "Waiting until every IamRole and IamServiceLinkedRole is Ready (up to $timeout)..."
if ! kubectl wait --for=condition=Ready iamroles --all --all-namespaces --timeout="$timeout" ||
  ! kubectl wait --for=condition=Ready iamservicelinkedroles --all --all-namespaces --timeout="$timeout"; then
  kubectl get iamroles,iamservicelinkedroles -A -o wide || true
  echo "sandbox: not every object became Ready; operator log: $work/rolesmith.log" >&2
  exit 1
fi
echo
echo "\$ kubectl get iamroles -o wide"
kubectl get iamroles -o wide
echo
echo "\$ kubectl get iamservicelinkedroles"
kubectl get iamservicelinkedroles
echo
echo "The roles as IAM has them:"
"$venv/bin/python" scripts/show-iam.py "$iam"
echo
cat <<USAGE
rolesmith is running against a local API server and a local IAM. Try it:

  export KUBECONFIG=$KUBECONFIG
  alias kubectl='HOME=$work/home $venv/bin/kubectl'
  kubectl get iamroles -o wide
  kubectl edit iamrole lambda-basic-execution         # change a policy or a tag, watch IAM follow
  $venv/bin/python scripts/show-iam.py $iam   # the roles as IAM has them
  curl -s 127.0.0.1:$metrics_port/metrics | grep rolesmith_iam_calls

Logs: $work/rolesmith.log, $work/kube-sim.log, $work/iam.log, $work/eks.log
USAGE
if [ "${SANDBOX_ONESHOT:-0}" = 1 ]; then exit 0; fi
echo "Press Ctrl-C to stop everything."
while true; do sleep 3600 & wait $!; done
