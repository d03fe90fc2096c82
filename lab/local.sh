#!/usr/bin/env bash
# `npm run local`: Airflow on this machine, in one command. First decides where (scripts/local.ts
# decide, lab/ts/localTarget.ts) and says which and why in its first line:
#   - a kubeconfig context named with --context <name> (or AIRFLOW_LOCAL_CONTEXT), else the current
#     context when it is a local cluster (kind, k3d, minikube, Docker Desktop, Rancher Desktop, OrbStack):
#     deploys the `local` stack as committed (public images), builds nothing, forwards the UI to loopback;
#   - else, on Linux as root, the lab: builds or reuses it (a real Kubernetes node, lab/README.md), starts
#     it, deploys the `local` stack with images built here, waits for a healthy API server, forwards the UI;
#   - else stops, saying what it looked for and how to get one.
#   lab/local.sh [--context <name>]        up (idempotent: a warm second run only checks and re-applies)
#   lab/local.sh down [--context <name>]   the same decision: removes the stack's namespace from that
#                                          context (never the cluster), or stops the lab and restores the host
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
T0=$(lab_now)
LOCAL_PORT="${AIRFLOW_LOCAL_PORT:-8080}"
phase() { lab_log "== $1 (${SECONDS}s)"; }
cd "$REPO_DIR"
MODE=up
if [ "${1:-}" = down ]; then MODE=down; shift; fi

[ -x node_modules/.bin/ts-node ] || { phase "npm ci"; npm ci --no-audit --no-fund >/dev/null; }
TS=(node_modules/.bin/ts-node --transpile-only)
TARGET=$("${TS[@]}" scripts/local.ts decide "$@") || exit 1

# --- a user's cluster: the committed stack, nothing built, only its namespace removed by down --------
if [[ "$TARGET" == context$'\t'* ]]; then
  IFS=$'\t' read -r _ CONTEXT CONTEXT_DIR <<<"$TARGET"
  FORWARD_RUN="$CONTEXT_DIR/run"   # the port-forward's pid file, beside the context's deploy state
  if [ "$MODE" = down ]; then
    LAB_RUN="$FORWARD_RUN" lab_stop local-port-forward
    "${TS[@]}" scripts/local.ts down --context "$CONTEXT"
    exit 0
  fi
  command -v kubectl >/dev/null 2>&1 || lab_die "kubectl is not on PATH (npm run local reaches $CONTEXT with it)"
  phase "deploy";         "${TS[@]}" scripts/local.ts up --context "$CONTEXT"
  LAB_RUN="$FORWARD_RUN" lab_stop local-port-forward
  LAB_RUN="$FORWARD_RUN" lab_start_daemon local-port-forward kubectl --context "$CONTEXT" -n airflow-local \
    port-forward --address 127.0.0.1 service/airflow-api-server "$LOCAL_PORT:8080"
  lab_wait "the UI on 127.0.0.1:$LOCAL_PORT" 60 curl -fsS --noproxy '*' "http://127.0.0.1:$LOCAL_PORT/api/v2/monitor/health"
  "${TS[@]}" scripts/local.ts wait-api "http://127.0.0.1:$LOCAL_PORT"
  cat >&2 <<MSG

  Airflow is running on $CONTEXT (in $(lab_elapsed "$T0")s).
    UI and REST API:  http://127.0.0.1:$LOCAL_PORT/
    user:             admin
    password:         kubectl --context $CONTEXT -n airflow-local get secret airflow-keys -o jsonpath='{.data.admin-password}' | base64 -d
    stop:             npm run local:down -- --context $CONTEXT   (removes the namespace airflow-local, keeps the cluster)

MSG
  exit 0
fi

# --- the lab ------------------------------------------------------------------------------------------
if [ "$MODE" = down ]; then
  lab_stop local-port-forward
  "$LAB_DIR/down.sh"
  exit 0
fi

[ "$(id -u)" = 0 ] || lab_die "the local node needs root (containerd, kubelet, network and cgroup set-up)"
phase "host packages";  "$LAB_DIR/host-packages.sh"
phase "toolchain (first run: about 12 min of Go builds on 2 cores, then cached)"; "$LAB_DIR/toolchain.sh" --node
phase "images (first run: about 6 min, then cached)"; "$LAB_DIR/images.sh"
phase "lab up";         "$LAB_DIR/up.sh" --node >/dev/null
phase "deploy";         "${TS[@]}" scripts/local.ts up

# the UI on loopback, through the API server's Service (as `kubectl port-forward` does for a user)
lab_stop local-port-forward
lab_start_daemon local-port-forward "$LAB_BIN/kubectl" --kubeconfig "$LAB_KUBECONFIG" -n airflow-local \
  port-forward --address 127.0.0.1 service/airflow-api-server "$LOCAL_PORT:8080"
lab_wait "the UI on 127.0.0.1:$LOCAL_PORT" 60 curl -fsS --noproxy '*' "http://127.0.0.1:$LOCAL_PORT/api/v2/monitor/health"

cat >&2 <<MSG

  Airflow is running (in $(lab_elapsed "$T0")s).
    UI and REST API:  http://127.0.0.1:$LOCAL_PORT/
    user:             admin
    password:         $LAB_BIN/kubectl --kubeconfig $LAB_KUBECONFIG -n airflow-local get secret airflow-keys -o jsonpath='{.data.admin-password}' | base64 -d
    kubectl:          export KUBECONFIG=$LAB_KUBECONFIG
    stop:             npm run local:down   (stops the lab and restores the host)

MSG
