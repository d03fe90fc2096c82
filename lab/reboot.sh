#!/usr/bin/env bash
# Reboots the level-2 lab's node as a power cut would (lab/node.sh node_power_cut: the kubelet,
# kube-proxy, kube-router, containerd and every container killed without notice, files kept), waits
# AIRFLOW_LAB_OFF_SECONDS (default 5) with the node off, then boots it with lab/up.sh --node. The
# control plane (etcd, the API server, controllers, scheduler) keeps running, as it would on other
# machines. Prints the kubeconfig path when the node is Ready again.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
if lab_external; then lab_die "AIRFLOW_LAB_KUBECONFIG is set: the lab did not start that cluster's node"; fi
if [ "$(cat "$LAB_RUN/mode" 2>/dev/null)" != node ] || ! lab_pid_alive kubelet; then
  lab_die "the lab's real node is not running (lab/up.sh --node)"
fi
# shellcheck source=node.sh
. "$LAB_DIR/node.sh"
T0=$(lab_now)
node_power_cut
lab_log "node powered off (kubelet, kube-proxy, kube-router, containerd and every container killed)"
sleep "${AIRFLOW_LAB_OFF_SECONDS:-5}"
"$LAB_DIR/up.sh" --node
lab_log "node rebooted in $(lab_elapsed "$T0")s"
