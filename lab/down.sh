#!/usr/bin/env bash
# Stops the local lab and removes its state (pid files, etcd data, the node's pods and volumes) and
# puts back every host setting the real node changed (lab/node.sh). Keeps built binaries, images,
# certificates and logs in $AIRFLOW_LAB_CACHE.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
if lab_external; then lab_log "AIRFLOW_LAB_KUBECONFIG is set: the lab did not start that cluster, nothing to stop"; exit 0; fi
T0=$(lab_now)
stopped=""

stop_all() { # NAME... : TERM all, wait up to 10s, then KILL the stragglers
  local name pid pids=()
  for name in "$@"; do
    [ -f "$LAB_RUN/$name.pid" ] || continue
    pid=$(cat "$LAB_RUN/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      pids+=("$name:$pid")
      stopped="$stopped $name"
    fi
    rm -f "$LAB_RUN/$name.pid"
  done
  local entry
  for entry in "${pids[@]}"; do
    pid=${entry#*:}
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      lab_log "${entry%%:*} (pid $pid) did not stop on TERM: sending KILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

# shellcheck source=node.sh
. "$LAB_DIR/node.sh"
# clients first (controllers before the node, so deleted pods are not recreated), then the node,
# then the API server, then its storage
stop_all kwok kube-scheduler kube-controller-manager
node_down
stop_all kube-apiserver
stop_all etcd
rm -rf "$LAB_RUN"
lab_restore_host
lab_log "lab down in $(lab_elapsed "$T0")s (stopped:${stopped:- nothing was running}; state removed, binaries kept in $LAB_BIN)"
