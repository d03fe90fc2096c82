#!/usr/bin/env bash
# `npm run local`: Airflow on this machine, in one command. Builds or reuses the cached lab (a real
# Kubernetes node, lab/README.md), starts it, deploys the `local` stack (production architecture)
# with images built here, waits for a healthy API server and forwards the UI to loopback.
#   lab/local.sh            up (idempotent: a warm second run only checks and re-applies)
#   lab/local.sh down       stop everything and restore the host (= npm run local:down)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
T0=$(lab_now)
LOCAL_PORT="${AIRFLOW_LOCAL_PORT:-8080}"
phase() { lab_log "== $1 (${SECONDS}s)"; }
cd "$REPO_DIR"

if [ "${1:-}" = down ]; then
  lab_stop local-port-forward
  "$LAB_DIR/down.sh"
  exit 0
fi

[ "$(id -u)" = 0 ] || lab_die "the local node needs root (containerd, kubelet, network and cgroup set-up)"
[ -x node_modules/.bin/ts-node ] || { phase "npm ci"; npm ci --no-audit --no-fund >/dev/null; }
phase "host packages";  "$LAB_DIR/host-packages.sh"
phase "toolchain (first run: about 12 min of Go builds on 2 cores, then cached)"; "$LAB_DIR/toolchain.sh" --node
phase "images (first run: about 6 min, then cached)"; "$LAB_DIR/images.sh"
phase "lab up";         "$LAB_DIR/up.sh" --node >/dev/null
phase "deploy";         node_modules/.bin/ts-node --transpile-only scripts/local.ts up

# the UI on loopback, through the API server's Service (as `kubectl port-forward` does for a user)
lab_stop local-port-forward
lab_start_daemon local-port-forward "$LAB_BIN/kubectl" --kubeconfig "$LAB_KUBECONFIG" -n airflow-local \
  port-forward --address 127.0.0.1 service/airflow-api-server "$LOCAL_PORT:8080"
lab_wait "the UI on 127.0.0.1:$LOCAL_PORT" 60 curl -fsS "http://127.0.0.1:$LOCAL_PORT/api/v2/monitor/health"

cat >&2 <<MSG

  Airflow is running (in $(lab_elapsed "$T0")s).
    UI and REST API:  http://127.0.0.1:$LOCAL_PORT/
    user:             admin
    password:         $LAB_BIN/kubectl --kubeconfig $LAB_KUBECONFIG -n airflow-local get secret airflow-keys -o jsonpath='{.data.admin-password}' | base64 -d
    kubectl:          export KUBECONFIG=$LAB_KUBECONFIG
    stop:             npm run local:down   (stops the lab and restores the host)

MSG
