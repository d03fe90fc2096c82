# shellcheck shell=bash
# The settings below are read by the scripts that source this file, which shellcheck cannot see here.
# shellcheck disable=SC2034
# Common settings and helpers for the local lab scripts. Sourced, not executed.

# --- pinned versions -------------------------------------------------------
# Kubernetes control plane built from source via the Go module proxy.
LAB_K8S_VERSION="${LAB_K8S_VERSION:-v1.34.2}"
# etcd, built from go.etcd.io/etcd/server/v3 (the version Kubernetes 1.34 pins in its go.mod).
LAB_ETCD_VERSION="${LAB_ETCD_VERSION:-v3.6.4}"
# kwok (fake nodes / pod lifecycle simulation).
LAB_KWOK_VERSION="${LAB_KWOK_VERSION:-v0.8.0}"
# Level 2 (a real node): cluster DNS and the loopback image registry, from the Go module proxy.
LAB_COREDNS_VERSION="${LAB_COREDNS_VERSION:-v1.12.1}"
LAB_REGISTRY_VERSION="${LAB_REGISTRY_VERSION:-v3.1.2}"
# The metrics exporter the package deploys (metrics.image defaults to quay.io/prometheus/statsd-exporter at this version).
LAB_STATSD_EXPORTER_VERSION="${LAB_STATSD_EXPORTER_VERSION:-v0.28.0}"
# kube-router, run as a NetworkPolicy-only controller beside the bridge CNI (iptables + ipset), so the
# level-2 node enforces the NetworkPolicies the package renders.
LAB_KUBE_ROUTER_VERSION="${LAB_KUBE_ROUTER_VERSION:-v2.1.0}"
# helm, for the side-by-side deploy benchmark against the official Apache Airflow chart.
LAB_HELM_VERSION="${LAB_HELM_VERSION:-v3.19.0}"

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
# The cluster's ranges: Services, and pods (the node and the API server are on 10.244.0.1, lab/node.sh).
LAB_SERVICE_CIDR=10.96.0.0/16
LAB_POD_RANGE=10.244.0.0/16

# Loopback and the cluster's ranges never go through an outbound proxy: curl, kubectl, git and the
# lab's TypeScript (lab/ts/kubectl.ts adds the same) inherit these from every lab script.
lab_no_proxy() { # VALUE -> VALUE with the lab's hosts added, each once
  local out=$1 h
  for h in 127.0.0.1 localhost ::1 "$LAB_SERVICE_CIDR" "$LAB_POD_RANGE"; do
    case ",$out," in *",$h,"*) ;; *) out="${out:+$out,}$h" ;; esac
  done
  printf '%s\n' "$out"
}
NO_PROXY="$(lab_no_proxy "${NO_PROXY:-}")"
no_proxy="$(lab_no_proxy "${no_proxy:-}")"
export NO_PROXY no_proxy

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

lab_kubectl() { kubectl --kubeconfig "$(lab_kubeconfig)" ${AIRFLOW_LAB_CONTEXT:+--context "$AIRFLOW_LAB_CONTEXT"} "$@"; }

# lab_write_if_changed FILE : writes stdin to FILE only when its content differs, through a temporary
# file renamed over it (daemons watch some of these files: kube-proxy exits when its config changes,
# containerd reloads CNI configs). Sets LAB_WROTE=1 when it wrote, else LAB_WROTE="".
lab_write_if_changed() {
  local file=$1 tmp
  tmp="$(dirname "$file")/.$(basename "$file").tmp"
  cat >"$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    LAB_WROTE=""
  else
    mv -f "$tmp" "$file"
    LAB_WROTE=1
  fi
}

# pid file helpers
lab_pid_alive() { # NAME
  local f="$LAB_RUN/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# lab_output_has TEXT CMD... : true when CMD runs and its output contains TEXT. Reads the whole
# output first: `cmd | grep -q` under pipefail fails when grep exits early and cmd dies of SIGPIPE.
lab_output_has() {
  local text=$1 out; shift
  [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
  out="$("$@" 2>&1)" || return 1
  [[ "$out" == *"$text"* ]]
}

# --- level 2: docker (image builds) and the loopback registry ---------------------------------
# The lab runs its own dockerd (its own socket, data under the cache, no bridge, no iptables), so
# a Docker already on the machine is left alone and down.sh can stop exactly what the lab started.
LAB_DOCKER_SOCK="$AIRFLOW_LAB_CACHE/docker.sock"
LAB_REGISTRY_PORT="${LAB_REGISTRY_PORT:-25000}"
LAB_REGISTRY="$LAB_HOST:$LAB_REGISTRY_PORT"
LAB_IMAGES_ENV="$AIRFLOW_LAB_CACHE/images.env"   # digest-pinned references written by images.sh

lab_docker() { docker -H "unix://$LAB_DOCKER_SOCK" "$@"; }

# lab_start_daemon NAME CMD... : start CMD in the background with a pid file and a log, once.
lab_start_daemon() {
  local name=$1; shift
  mkdir -p "$LAB_RUN" "$LAB_LOGS"
  if lab_pid_alive "$name"; then return 0; fi
  lab_log "starting $name (log: $LAB_LOGS/$name.log)"
  nohup "$@" >"$LAB_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$LAB_RUN/$name.pid"
}

# lab_wait WHAT TIMEOUT_S CMD... : poll CMD until it succeeds.
lab_wait() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || lab_die "timed out after ${timeout}s waiting for $what (logs in $LAB_LOGS)"
    sleep 0.5
  done
}

# --- host changes --------------------------------------------------------------------------------
# The level-2 lab's daemons change the host; the first to start saves what they touch, and
# lab/down.sh puts it back (lab_restore_host) once everything is stopped.
LAB_HOST_STATE="$AIRFLOW_LAB_CACHE/host-state"
LAB_SYSCTLS="kernel.panic kernel.panic_on_oops vm.overcommit_memory net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables"
# Paths the tools create outside the lab's own directories (containerd shims use /run/containerd
# whatever their state dir): removed by down when absent before.
LAB_FIXED_PATHS="/run/containerd /run/netns /var/lib/cni /var/log/containers /var/log/pods"

lab_save_host() {
  [ -f "$LAB_HOST_STATE" ] && return 0   # saved by an earlier start not yet taken down
  local s p
  mkdir -p "$AIRFLOW_LAB_CACHE"
  {
    for s in $LAB_SYSCTLS; do echo "sysctl $s $(sysctl -n "$s" 2>/dev/null || echo absent)"; done
    for p in $LAB_FIXED_PATHS; do [ -e "$p" ] && echo "existed $p"; done
    [[ "$(iptables-save 2>/dev/null)" == *$'\n:KUBE-'* ]] && echo "had-kube-chains"
    [ -d /sys/module/br_netfilter ] && echo "had-br-netfilter"
    true
  } >"$LAB_HOST_STATE.tmp"
  mv "$LAB_HOST_STATE.tmp" "$LAB_HOST_STATE"
}

lab_restore_host() {
  [ -f "$LAB_HOST_STATE" ] || return 0
  local kind a b p m
  while read -r kind a b; do
    if [ "$kind" = sysctl ] && [ "$b" != absent ]; then sysctl -qw "$a=$b" 2>/dev/null || true; fi
  done <"$LAB_HOST_STATE"
  for p in $LAB_FIXED_PATHS; do
    grep -qx "existed $p" "$LAB_HOST_STATE" && continue
    [ -e "$p" ] || continue
    awk -v d="$p" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$p"
  done
  # the bridge's netfilter hook, loaded by node_up for policy enforcement and Service traffic
  grep -qx "had-br-netfilter" "$LAB_HOST_STATE" || modprobe -r br_netfilter 2>/dev/null || true
  rm -f "$LAB_HOST_STATE"
}

lab_dockerd_up() {
  lab_save_host
  command -v dockerd >/dev/null 2>&1 || lab_die "dockerd not found: apt-get install docker.io (lab/host-packages.sh does)"
  lab_start_daemon dockerd dockerd --host "unix://$LAB_DOCKER_SOCK" --data-root "$AIRFLOW_LAB_CACHE/docker" \
    --exec-root /run/airflow-lab/docker --pidfile /run/airflow-lab/docker.pid \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false
  lab_wait "dockerd" 60 lab_docker info
}

lab_registry_up() {
  [ -x "$LAB_BIN/registry" ] || lab_die "missing $LAB_BIN/registry: run lab/toolchain.sh --node first"
  mkdir -p "$AIRFLOW_LAB_CACHE/registry"
  lab_write_if_changed "$AIRFLOW_LAB_CACHE/registry.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $AIRFLOW_LAB_CACHE/registry }
  delete: { enabled: true }
http:
  addr: $LAB_REGISTRY
YAML
  lab_start_daemon registry "$LAB_BIN/registry" serve "$AIRFLOW_LAB_CACHE/registry.yml"
  lab_wait "registry on $LAB_REGISTRY" 30 curl -fsS "http://$LAB_REGISTRY/v2/"
}

# lab_stop NAME... : TERM, wait up to 10 s, then KILL; removes the pid files.
lab_stop() {
  local name pid
  for name in "$@"; do
    [ -f "$LAB_RUN/$name.pid" ] || continue
    pid=$(cat "$LAB_RUN/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && { lab_log "$name (pid $pid) did not stop on TERM: KILL"; kill -9 "$pid" 2>/dev/null || true; }
    fi
    rm -f "$LAB_RUN/$name.pid"
  done
}
