# shellcheck shell=bash
# Common settings and helpers for the local lab scripts. Sourced, not executed.

# --- pinned versions -------------------------------------------------------
# Kubernetes control plane built from source via the Go module proxy.
LAB_K8S_VERSION="${LAB_K8S_VERSION:-v1.34.2}"
# etcd, built from go.etcd.io/etcd/server/v3 (the version Kubernetes 1.34 pins in its go.mod).
LAB_ETCD_VERSION="${LAB_ETCD_VERSION:-v3.6.4}"
# kwok (fake nodes / pod lifecycle simulation).
LAB_KWOK_VERSION="${LAB_KWOK_VERSION:-v0.8.0}"

# --- locations -------------------------------------------------------------
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/.." && pwd)"
AIRFLOW_LAB_CACHE="${AIRFLOW_LAB_CACHE:-$HOME/.cache/airflow-pulumi-lab}"
LAB_BIN="$AIRFLOW_LAB_CACHE/bin"            # built binaries (kept by down.sh)
LAB_SRC="$AIRFLOW_LAB_CACHE/src"            # wrapper Go modules (kept)
LAB_RUN="$AIRFLOW_LAB_CACHE/run"            # pid files, data, certs of a running lab (removed by down.sh)
LAB_LOGS="$AIRFLOW_LAB_CACHE/logs"          # component logs
LAB_KUBECONFIG="$AIRFLOW_LAB_CACHE/kubeconfig"

# Loopback only.
LAB_HOST=127.0.0.1
LAB_ETCD_CLIENT_PORT="${LAB_ETCD_CLIENT_PORT:-23791}"
LAB_ETCD_PEER_PORT="${LAB_ETCD_PEER_PORT:-23801}"
LAB_APISERVER_PORT="${LAB_APISERVER_PORT:-26443}"
LAB_KCM_PORT="${LAB_KCM_PORT:-20257}"
LAB_SCHED_PORT="${LAB_SCHED_PORT:-20259}"

# --- helpers ---------------------------------------------------------------
lab_log()  { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
lab_die()  { printf '[lab %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
lab_now()  { date +%s.%N; }
# lab_elapsed START -> seconds with one decimal since START
lab_elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }

# True when the user pointed the lab at an existing cluster instead of the built one.
lab_external() { [ -n "${AIRFLOW_LAB_KUBECONFIG:-}" ]; }

# kubeconfig the checks should use.
lab_kubeconfig() {
  if lab_external; then printf '%s\n' "$AIRFLOW_LAB_KUBECONFIG"; else printf '%s\n' "$LAB_KUBECONFIG"; fi
}

# etcd built by toolchain.sh.
lab_etcd_bin() {
  if [ -x "$LAB_BIN/etcd" ]; then printf '%s\n' "$LAB_BIN/etcd"; return; fi
  return 1
}

lab_kubectl() { kubectl --kubeconfig "$(lab_kubeconfig)" "$@"; }

# pid file helpers
lab_pid_alive() { # NAME
  local f="$LAB_RUN/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}
