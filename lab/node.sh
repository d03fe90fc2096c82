# shellcheck shell=bash
# The level-2 lab's real node, sourced by up.sh and down.sh: containerd + runc, a bridge CNI, the
# kubelet, kube-proxy, CoreDNS and the loopback registry, all confined to paths under the lab's
# cache and /run/airflow-lab where the tools allow it. Every host setting the node changes is saved
# first (lab_save_host, lib.sh) and put back by down.sh; node_down removes what the tools create in
# fixed places (/run/containerd, /run/netns, /var/lib/cni, /var/log/containers, kubepods cgroups).
# Facts this rests on (measured on this VM): root lacks CAP_SYS_RESOURCE, so containerd must not ask
# runc to set oom_score_adj (restrict_oom_score_adj); cgroup v1 with the cgroupfs driver.

LAB_NODE_NAME=lab-node
LAB_NODE_IP=10.244.0.1            # the host side of the pod bridge: node, API server and kubelet address
LAB_POD_CIDR=10.244.0.0/24
LAB_DNS_IP=10.96.0.10
LAB_NODE_RUN=/run/airflow-lab     # sockets and runtime state (tmpfs)
LAB_NODE_DIR="$LAB_RUN/node"      # kubelet root, pod logs, CNI config, volumes (removed by down)
LAB_CONTAINERD_SOCK="$LAB_NODE_RUN/containerd/containerd.sock"
# "The outside world" for the NetworkPolicy probes: a network namespace of the lab's own behind a veth,
# with an address of TEST-NET-3 (RFC 5737), so a pod's connection to it leaves the cluster's ranges
# without leaving the machine. A listener there answers on the ports the probes try.
LAB_OUTSIDE_NS=airflow-lab-outside
LAB_OUTSIDE_HOST_IP=203.0.113.1
LAB_OUTSIDE_IP=203.0.113.10
LAB_OUTSIDE_PORTS="22 80 443"

lab_ctr() { ctr --address "$LAB_CONTAINERD_SOCK" -n k8s.io "$@"; }

# Unmounts everything mounted at or below DIR, deepest first.
node_unmount_under() {
  local dir=$1 m
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

node_require() {
  local b missing=""
  for b in containerd containerd-shim-runc-v2 runc ctr iptables ip; do command -v "$b" >/dev/null 2>&1 || missing="$missing $b"; done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] || missing="$missing containernetworking-plugins"
  [ -z "$missing" ] || lab_die "missing on the host:$missing (run lab/host-packages.sh)"
  for b in kubelet kube-proxy registry; do [ -x "$LAB_BIN/$b" ] || lab_die "missing $LAB_BIN/$b: run lab/toolchain.sh --node"; done
  [ -f "$LAB_IMAGES_ENV" ] || lab_die "no image references in $LAB_IMAGES_ENV: run lab/images.sh"
}

# The pod bridge exists before the API server starts, since the API server listens on its address.
node_bridge_up() {
  lab_save_host
  ip link show cni0 >/dev/null 2>&1 || ip link add cni0 type bridge
  [[ "$(ip addr show dev cni0)" == *"inet $LAB_NODE_IP/"* ]] || ip addr add "$LAB_NODE_IP/24" dev cni0
  ip link set cni0 up
}

node_pki() { # PKI_DIR: node, kube-proxy and API-server-to-kubelet client certificates
  local pki=$1
  gen_cert node "system:node:$LAB_NODE_NAME" system:nodes client
  gen_cert kube-proxy system:kube-proxy "" client
  gen_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters client
  write_kubeconfig "$pki/node.kubeconfig" node
  write_kubeconfig "$pki/kube-proxy.kubeconfig" kube-proxy
}

node_up() {
  local pki=$1 d="$LAB_NODE_DIR"
  # shellcheck disable=SC1090
  . "$LAB_IMAGES_ENV"
  mkdir -p "$d"/{kubelet,pod-logs,volume-plugins,cni/net.d,cni/ipam,certs.d/"$LAB_REGISTRY",volumes} "$LAB_NODE_RUN/containerd"
  modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || lab_log "warning: cannot set net.bridge.bridge-nf-call-iptables=1 (Service traffic between pods may fail)"

  lab_registry_up
  # the stacks build the project images with the lab's dockerd (lab/images.sh decided: engineImages.ts)
  [ "${LAB_PROJECT_IMAGES:-lab}" != engine ] || lab_dockerd_up

  # --- containerd --------------------------------------------------------------------------
  # every file below is written only when its content changes (lab_write_if_changed): a warm re-run
  # leaves the running daemons alone
  lab_write_if_changed "$d/containerd.toml" <<TOML
version = 2
root = "$AIRFLOW_LAB_CACHE/containerd"
state = "$LAB_NODE_RUN/containerd/state"
[grpc]
  address = "$LAB_CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$AIRFLOW_LAB_CACHE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$LAB_REGISTRY/lab/pause:latest"
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc (oom_score_adj EPERM)
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$d/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$d/certs.d"
TOML
  printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$LAB_REGISTRY" "$LAB_REGISTRY" \
    | lab_write_if_changed "$d/certs.d/$LAB_REGISTRY/hosts.toml"
  # the registry mirror: pulls from the upstream hosts whose images the lab stands in for
  # (lab/images.sh, LAB_MIRROR_HOSTS) are served by the loopback registry under <host>/<path>, and
  # never go further: the fallback server is the loopback registry too, where <path> alone is absent
  local host
  for host in ${LAB_MIRROR_HOSTS:-}; do
    mkdir -p "$d/certs.d/$host"
    printf 'server = "http://%s"\n[host."http://%s/v2/%s"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n' \
      "$LAB_REGISTRY" "$LAB_REGISTRY" "$host" | lab_write_if_changed "$d/certs.d/$host/hosts.toml"
  done
  lab_write_if_changed "$d/cni/net.d/10-airflow-lab.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "airflow-lab", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$d/cni/ipam",
            "ranges": [[{"subnet": "$LAB_POD_CIDR", "gateway": "$LAB_NODE_IP"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}
]}
JSON
  lab_start_daemon containerd containerd --config "$d/containerd.toml"
  lab_wait "containerd" 60 lab_ctr version
  # a tag pulled once stays cached (IfNotPresent): drop a cached upstream tag whose digest is no
  # longer the one lab/images.sh pushed, so the next pull takes the current stand-in
  local entry ref cached
  for entry in ${LAB_MIRRORED_REFS:-}; do
    ref=${entry%@*}
    cached="$(lab_ctr images ls "name==$ref" | awk 'NR == 2 {print $3}')"
    if [ -z "$cached" ] || [ "$cached" = "${entry##*@}" ]; then continue; fi
    lab_log "dropping the node's stale copy of $ref (the lab now serves ${entry##*@})"
    lab_ctr images rm "$ref" >/dev/null
  done

  # --- kubelet -------------------------------------------------------------------------------
  printf 'nameserver %s\nsearch cluster.local\n' "$LAB_DNS_IP" | lab_write_if_changed "$d/resolv.conf"
  lab_write_if_changed "$d/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $LAB_NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$LAB_CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false          # this VM has cgroup v1; the kubelet only warns
failSwapOn: false
makeIPTablesUtilChains: false
protectKernelDefaults: false
volumePluginDir: $d/volume-plugins
podLogsDir: $d/pod-logs
clusterDNS: [$LAB_DNS_IP]
clusterDomain: cluster.local
resolvConf: $d/resolv.conf
podCIDR: $LAB_POD_CIDR
maxPods: 60
serializeImagePulls: false
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
evictionHard: { memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2% }
YAML
  lab_start_daemon kubelet "$LAB_BIN/kubelet" --config "$d/kubelet.yaml" --kubeconfig "$pki/node.kubeconfig" \
    --root-dir "$d/kubelet" --cert-dir "$d/kubelet/pki" --hostname-override "$LAB_NODE_NAME" --node-ip "$LAB_NODE_IP" --v 1

  # --- kube-proxy ------------------------------------------------------------------------------
  # kube-proxy watches its config file and exits when it changes: written only on a change, and then a
  # running kube-proxy is restarted here rather than left to exit after the check below saw it alive
  lab_write_if_changed "$d/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: $pki/kube-proxy.kubeconfig }
hostnameOverride: $LAB_NODE_NAME
clusterCIDR: $LAB_POD_CIDR
bindAddress: $LAB_NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$LAB_NODE_IP/32"]
conntrack: { maxPerCore: 0 }   # leave the host's conntrack limits alone
iptables: { localhostNodePorts: false }
YAML
  if [ -n "$LAB_WROTE" ] && lab_pid_alive kube-proxy; then lab_log "kube-proxy's config changed: restarting it"; lab_stop kube-proxy; fi
  lab_start_daemon kube-proxy "$LAB_BIN/kube-proxy" --config "$d/kube-proxy.yaml"

  lab_wait "node $LAB_NODE_NAME Ready" 180 "$KUBECTL" --kubeconfig "$LAB_KUBECONFIG" wait --for=condition=Ready "node/$LAB_NODE_NAME" --timeout=2s
  lab_log "node $LAB_NODE_NAME Ready"

  # --- cluster DNS -----------------------------------------------------------------------------
  sed -e "s#@COREDNS_IMAGE@#$LAB_IMAGE_COREDNS#" -e "s#@DNS_IP@#$LAB_DNS_IP#" "$LAB_DIR/coredns.yaml" \
    | "$KUBECTL" --kubeconfig "$LAB_KUBECONFIG" apply --server-side --field-manager=airflow-lab-up -f - >/dev/null
  node_policy_engine_up
  node_outside_up
  lab_wait "CoreDNS available" 180 "$KUBECTL" --kubeconfig "$LAB_KUBECONFIG" -n kube-system wait --for=condition=Available deployment/coredns --timeout=2s
  lab_log "CoreDNS available at $LAB_DNS_IP"
}

# kube-router as a NetworkPolicy-only controller (no routing, no service proxy, no CNI): it turns the
# policies into iptables rules and ipsets on this host, beside the bridge CNI. Bridged pod-to-pod
# traffic passes iptables because node_up sets net.bridge.bridge-nf-call-iptables=1.
node_policy_engine_up() {
  [ -x "$LAB_BIN/kube-router" ] || lab_die "missing $LAB_BIN/kube-router: run lab/toolchain.sh --node"
  command -v ipset >/dev/null 2>&1 || lab_die "ipset not found (run lab/host-packages.sh)"
  lab_start_daemon kube-router "$LAB_BIN/kube-router" --kubeconfig "$LAB_KUBECONFIG" --hostname-override "$LAB_NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false --enable-ipv6=false \
    --health-port 20244 --metrics-port 0 --iptables-sync-period 30s
  lab_wait "kube-router healthy" 120 curl -fsS --noproxy '*' http://127.0.0.1:20244/healthz
  lab_log "NetworkPolicies enforced by kube-router $LAB_KUBE_ROUTER_VERSION"
}

node_outside_up() {
  if ! ip netns list 2>/dev/null | grep -qw "$LAB_OUTSIDE_NS"; then
    ip netns add "$LAB_OUTSIDE_NS"
    ip link add lab-out0 type veth peer name lab-out1
    ip link set lab-out1 netns "$LAB_OUTSIDE_NS"
    # point to point, one route each way: a /24 would take the rest of 203.0.113.0/24 from the host,
    # where the machine's own outbound addresses may live (its PyPI mirror at 203.0.113.80 was
    # unreachable while the lab was up, and so every image build of a stack)
    ip addr add "$LAB_OUTSIDE_HOST_IP" peer "$LAB_OUTSIDE_IP" dev lab-out0
    ip link set lab-out0 up
    ip -n "$LAB_OUTSIDE_NS" addr add "$LAB_OUTSIDE_IP" peer "$LAB_OUTSIDE_HOST_IP" dev lab-out1
    ip -n "$LAB_OUTSIDE_NS" link set lo up
    ip -n "$LAB_OUTSIDE_NS" link set lab-out1 up
    ip -n "$LAB_OUTSIDE_NS" route add default via "$LAB_OUTSIDE_HOST_IP"
  fi
  # shellcheck disable=SC2086
  lab_start_daemon outside-listener ip netns exec "$LAB_OUTSIDE_NS" python3 "$LAB_DIR/probe-listener.py" "$LAB_OUTSIDE_IP" $LAB_OUTSIDE_PORTS
}

node_outside_down() {
  lab_stop outside-listener
  ip netns pids "$LAB_OUTSIDE_NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns delete "$LAB_OUTSIDE_NS" 2>/dev/null || true
  ip link delete lab-out0 2>/dev/null || true
}

# What kube-router leaves: its iptables chains (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*, KUBE-SRC-*)
# and ipsets. kube-router --cleanup-config removes them; what it misses is removed here.
node_policy_engine_down() {
  lab_stop kube-router
  # shellcheck disable=SC2015  # a missing binary and a failed clean-up are both ignored, on purpose
  [ -x "$LAB_BIN/kube-router" ] && "$LAB_BIN/kube-router" --cleanup-config >/dev/null 2>&1 || true
}

node_policy_engine_sets_down() {
  command -v ipset >/dev/null 2>&1 || return 0
  local set
  for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-|inet6:KUBE-)' || true); do ipset destroy "$set" 2>/dev/null || true; done
}

# The node loses power: the kubelet, kube-proxy, kube-router, containerd and every container are
# killed (SIGKILL, no pod is told), the pods' network namespaces and in-memory mounts go as they would
# with /run, and the files stay (kubelet root, images, volumes). Nothing is cleaned up on purpose:
# `lab/up.sh --node` then boots the node as a machine would after a power cut, and the kubelet finds
# what it left.
node_power_cut() {
  local name pid
  for name in kubelet kube-proxy kube-router containerd; do
    [ -f "$LAB_RUN/$name.pid" ] || continue
    pid=$(cat "$LAB_RUN/$name.pid")
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$LAB_RUN/$name.pid"
  done
  pkill -9 -f "containerd-shim-runc-v2 -namespace k8s.io -address $LAB_CONTAINERD_SOCK" 2>/dev/null || true
  # the containers' processes: every process in the kubepods cgroups
  local cg
  for cg in /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods*; do
    [ -d "$cg" ] || continue
    find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
  done
  sleep 1
  local ns
  for ns in /run/netns/cni-*; do [ -e "$ns" ] || continue; umount "$ns" 2>/dev/null || true; rm -f "$ns"; done
  node_unmount_under "$LAB_NODE_DIR"
  node_unmount_under "$LAB_NODE_RUN"
  rm -rf "$LAB_NODE_RUN/containerd/state"
}

node_down() {
  local K="$LAB_BIN/kubectl --kubeconfig $LAB_KUBECONFIG"
  # Let the kubelet tear pods down properly (CNI DEL, volume unmounts) while it still runs; the
  # controllers are already stopped, so nothing is recreated.
  if lab_pid_alive kubelet && lab_pid_alive kube-apiserver; then
    $K delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
      [ -z "$($K get pods -A -o name 2>/dev/null)" ] && break
      sleep 1
    done
  fi
  node_policy_engine_down
  node_outside_down
  lab_stop kube-proxy kubelet
  "$LAB_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # whatever the kubelet left behind: kill and remove every task and container
  if lab_pid_alive containerd; then
    local c
    for c in $(lab_ctr tasks ls -q 2>/dev/null); do lab_ctr tasks kill -s KILL "$c" >/dev/null 2>&1 || true; done
    sleep 1
    for c in $(lab_ctr tasks ls -q 2>/dev/null); do lab_ctr tasks delete -f "$c" >/dev/null 2>&1 || true; done
    for c in $(lab_ctr containers ls -q 2>/dev/null); do lab_ctr containers delete "$c" >/dev/null 2>&1 || true; done
  fi
  lab_stop containerd registry dockerd
  # daemons whose pid file went missing (a run interrupted between start and record), found by
  # their command lines, which name the lab's own socket and binaries
  pkill -f "^dockerd --host unix://$LAB_DOCKER_SOCK " 2>/dev/null || true
  pkill -f "^$LAB_BIN/registry serve " 2>/dev/null || true
  for _ in $(seq 1 50); do pgrep -f "^dockerd --host unix://$LAB_DOCKER_SOCK " >/dev/null || break; sleep 0.2; done
  pkill -f "containerd-shim-runc-v2 -namespace k8s.io -address $LAB_CONTAINERD_SOCK" 2>/dev/null || true
  # network namespaces and mounts left by pods, then the bridge
  local ns
  for ns in /run/netns/cni-*; do [ -e "$ns" ] || continue; umount "$ns" 2>/dev/null || true; rm -f "$ns"; done
  node_unmount_under "$LAB_NODE_DIR"
  node_unmount_under "$LAB_NODE_RUN"
  if ip link show cni0 >/dev/null 2>&1; then
    ip -o link show master cni0 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | while read -r v; do
      ip link delete "$v" 2>/dev/null || true
    done
    ip link delete cni0
  fi
  # kubepods cgroups, deepest first
  local cg
  for cg in /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods*; do
    [ -d "$cg" ] || continue
    find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  # chains the kubelet and kube-proxy leave (KUBE-FIREWALL, KUBE-KUBELET-CANARY, ...), unless the host had some
  grep -qx "had-kube-chains" "$LAB_HOST_STATE" 2>/dev/null || node_remove_kube_chains
  # kube-router's ipsets can go once no rule refers to them
  node_policy_engine_sets_down
  rm -rf "$LAB_NODE_RUN"
}

node_remove_kube_chains() {
  local ipt table chain
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null 2>&1 || continue
    for table in filter nat mangle; do
      # rules jumping to KUBE-* chains first (iptables-save quotes comments for the shell: eval), then the chains
      "$ipt-save" -t "$table" 2>/dev/null | sed -n 's/^-A \(.* -j KUBE-[A-Z0-9-]*\)$/\1/p' | while read -r rule; do
        eval "\"\$ipt\" -t \"\$table\" -D $rule" 2>/dev/null || true
      done
      for chain in $("$ipt-save" -t "$table" 2>/dev/null | sed -n 's/^:\(KUBE-[A-Z0-9-]*\) .*/\1/p'); do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$ipt-save" -t "$table" 2>/dev/null | sed -n 's/^:\(KUBE-[A-Z0-9-]*\) .*/\1/p'); do
        "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}
