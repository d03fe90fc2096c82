#!/usr/bin/env bash
# Starts the local lab: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and either
# kwok with fake nodes (level 1, all on 127.0.0.1) or, with --node, a real node (level 2: containerd,
# kubelet, kube-proxy, CoreDNS, the loopback registry; lab/node.sh), state under $AIRFLOW_LAB_CACHE.
# Idempotent. Prints the kubeconfig path on stdout when the cluster is ready.
#   lab/up.sh [--node]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
MODE=kwok
[ "${1:-}" = "--node" ] && MODE=node

if lab_external; then
  lab_log "AIRFLOW_LAB_KUBECONFIG is set: using the existing cluster, starting nothing"
  lab_kubectl get --raw /readyz >/dev/null || lab_die "cluster in $AIRFLOW_LAB_KUBECONFIG${AIRFLOW_LAB_CONTEXT:+ (context $AIRFLOW_LAB_CONTEXT)} is not ready (/readyz failed)"
  printf '%s\n' "$AIRFLOW_LAB_KUBECONFIG"
  exit 0
fi

for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  [ -x "$LAB_BIN/$b" ] || lab_die "missing $LAB_BIN/$b: run lab/toolchain.sh first"
done
[ "$MODE" = node ] || [ -x "$LAB_BIN/kwok" ] || lab_die "missing $LAB_BIN/kwok: run lab/toolchain.sh first"
ETCD="$(lab_etcd_bin)" || lab_die "etcd not found: run lab/toolchain.sh first (installs Debian etcd-server)"
KUBECTL="$LAB_BIN/kubectl"
PKI="$AIRFLOW_LAB_CACHE/pki"
mkdir -p "$LAB_RUN" "$LAB_LOGS" "$PKI"
if [ -f "$LAB_RUN/mode" ] && [ "$(cat "$LAB_RUN/mode")" != "$MODE" ] && lab_pid_alive kube-apiserver; then
  lab_die "the lab is running in $(cat "$LAB_RUN/mode") mode: run lab/down.sh first"
fi
echo "$MODE" >"$LAB_RUN/mode"
# shellcheck source=node.sh
. "$LAB_DIR/node.sh"
APISERVER_HOST=$LAB_HOST
if [ "$MODE" = node ]; then
  node_require
  # pods reach the API server (through the kubernetes Service) on the host side of their bridge
  node_bridge_up
  APISERVER_HOST=$LAB_NODE_IP
fi

# --- certificates (generated once, kept across down/up) ---------------------------
gen_cert() { # NAME CN ORG KIND(server|client) [SAN]
  local name=$1 cn=$2 org=$3 kind=$4 san=${5:-}
  # kept across runs, unless the wanted names changed (a cert from an older lab lacking a SAN)
  if [ -f "$PKI/$name.crt" ]; then
    [ -z "$san" ] && return 0
    [ "$(cat "$PKI/$name.san" 2>/dev/null)" = "$san" ] && return 0
  fi
  [ -n "$san" ] && echo "$san" >"$PKI/$name.san"
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ "$kind" = server ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$PKI/$name.ext"
  openssl req -new -nodes -newkey rsa:2048 -keyout "$PKI/$name.key" -out "$PKI/$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -out "$PKI/$name.crt" -days 3650 -sha256 -extfile "$PKI/$name.ext" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

if [ ! -f "$PKI/ca.crt" ]; then
  lab_log "generating lab CA and certificates in $PKI (once)"
  openssl req -x509 -new -nodes -newkey rsa:2048 -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
    -days 3650 -sha256 -subj "/CN=airflow-lab-ca" 2>/dev/null
fi
gen_cert apiserver kube-apiserver "" server \
  "IP:127.0.0.1,IP:10.96.0.1,IP:10.244.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
gen_cert admin airflow-lab-admin system:masters client
gen_cert controller-manager system:kube-controller-manager "" client
gen_cert scheduler system:kube-scheduler "" client
gen_cert kwok airflow-lab-kwok system:masters client
# front-proxy (request header) CA, so delegated authentication in the controller-manager and
# scheduler finds a complete configuration
if [ ! -f "$PKI/front-proxy-ca.crt" ]; then
  openssl req -x509 -new -nodes -newkey rsa:2048 -keyout "$PKI/front-proxy-ca.key" -out "$PKI/front-proxy-ca.crt" \
    -days 3650 -sha256 -subj "/CN=airflow-lab-front-proxy-ca" 2>/dev/null
fi
if [ ! -f "$PKI/front-proxy-client.crt" ]; then
  openssl req -new -nodes -newkey rsa:2048 -keyout "$PKI/front-proxy-client.key" -out "$PKI/front-proxy-client.csr" -subj "/CN=front-proxy-client" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$PKI/front-proxy-client.ext"
  openssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" -CAcreateserial \
    -out "$PKI/front-proxy-client.crt" -days 3650 -sha256 -extfile "$PKI/front-proxy-client.ext" 2>/dev/null
  rm -f "$PKI/front-proxy-client.csr" "$PKI/front-proxy-client.ext"
fi
if [ ! -f "$PKI/sa.key" ]; then
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi

SERVER="https://$APISERVER_HOST:$LAB_APISERVER_PORT"
write_kubeconfig() { # FILE CERTNAME
  local f=$1 n=$2
  [ -f "$f" ] && grep -q "$SERVER" "$f" && return 0
  rm -f "$f"
  "$KUBECTL" --kubeconfig "$f" config set-cluster airflow-lab --server "$SERVER" --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  "$KUBECTL" --kubeconfig "$f" config set-credentials "$n" --client-certificate "$PKI/$n.crt" --client-key "$PKI/$n.key" --embed-certs >/dev/null
  "$KUBECTL" --kubeconfig "$f" config set-context airflow-lab --cluster airflow-lab --user "$n" >/dev/null
  "$KUBECTL" --kubeconfig "$f" config use-context airflow-lab >/dev/null
  chmod 600 "$f"
}
write_kubeconfig "$LAB_KUBECONFIG" admin
write_kubeconfig "$PKI/controller-manager.kubeconfig" controller-manager
write_kubeconfig "$PKI/scheduler.kubeconfig" scheduler
write_kubeconfig "$PKI/kwok.kubeconfig" kwok
[ "$MODE" = node ] && node_pki "$PKI"

# --- process helpers ----------------------------------------------------------------------
start() { # NAME CMD...
  local name=$1; shift
  if lab_pid_alive "$name"; then lab_log "$name already running (pid $(cat "$LAB_RUN/$name.pid"))"; return 0; fi
  lab_log "starting $name (log: $LAB_LOGS/$name.log)"
  nohup "$@" >"$LAB_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$LAB_RUN/$name.pid"
  STARTED="$STARTED $name"
}
wait_for() { # WHAT TIMEOUT_S CMD...
  local what=$1 timeout=$2; shift 2
  local t; t=$(lab_now)
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || lab_die "timed out after ${timeout}s waiting for $what (logs in $LAB_LOGS)"
    sleep 0.5
  done
  lab_log "$what ok (${SECONDS}s since start, waited $(lab_elapsed "$t")s)"
}
check_alive() { # NAME
  lab_pid_alive "$1" || { tail -30 "$LAB_LOGS/$1.log" >&2; lab_die "$1 exited; see $LAB_LOGS/$1.log"; }
}
STARTED=""
SECONDS=0

# --- etcd ------------------------------------------------------------------------------------
ETCD_URL="http://$LAB_HOST:$LAB_ETCD_CLIENT_PORT"
start etcd "$ETCD" --name airflow-lab --data-dir "$LAB_RUN/etcd" \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://$LAB_HOST:$LAB_ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://$LAB_HOST:$LAB_ETCD_PEER_PORT" \
  --initial-cluster "airflow-lab=http://$LAB_HOST:$LAB_ETCD_PEER_PORT" \
  --logger zap --log-outputs stderr
sleep 0.3; check_alive etcd
wait_for "etcd health" 60 curl -fsS "$ETCD_URL/health"

# --- kube-apiserver -------------------------------------------------------------------------
if [ "$MODE" = node ]; then
  # the kubernetes Service points at the API server (lease reconciler); logs and exec reach the kubelet
  APISERVER_MODE_FLAGS=(--endpoint-reconciler-type lease
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key"
    --kubelet-preferred-address-types InternalIP)
else
  APISERVER_MODE_FLAGS=(--endpoint-reconciler-type none)
fi
start kube-apiserver "$LAB_BIN/kube-apiserver" \
  --etcd-servers "$ETCD_URL" \
  --bind-address "$APISERVER_HOST" --advertise-address "$APISERVER_HOST" --secure-port "$LAB_APISERVER_PORT" \
  "${APISERVER_MODE_FLAGS[@]}" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range "$LAB_SERVICE_CIDR" \
  --authorization-mode Node,RBAC \
  --enable-admission-plugins NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,StorageObjectInUseProtection,PersistentVolumeClaimResize,Priority,ResourceQuota,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy \
  --allow-privileged=true \
  --profiling=false
sleep 0.5; check_alive kube-apiserver
wait_for "kube-apiserver /readyz" 180 "$KUBECTL" --kubeconfig "$LAB_KUBECONFIG" get --raw /readyz

# --- controller-manager, scheduler, kwok ---------------------------------------------------
start kube-controller-manager "$LAB_BIN/kube-controller-manager" \
  --kubeconfig "$PKI/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$PKI/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$PKI/controller-manager.kubeconfig" \
  --bind-address "$LAB_HOST" --secure-port "$LAB_KCM_PORT" \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --use-service-account-credentials=true \
  --service-cluster-ip-range "$LAB_SERVICE_CIDR" \
  --controllers '*' \
  --leader-elect=false \
  --profiling=false
start kube-scheduler "$LAB_BIN/kube-scheduler" \
  --kubeconfig "$PKI/scheduler.kubeconfig" \
  --authentication-kubeconfig "$PKI/scheduler.kubeconfig" \
  --authorization-kubeconfig "$PKI/scheduler.kubeconfig" \
  --bind-address "$LAB_HOST" --secure-port "$LAB_SCHED_PORT" \
  --leader-elect=false \
  --profiling=false
[ "$MODE" = kwok ] && start kwok "$LAB_BIN/kwok" \
  --kubeconfig "$PKI/kwok.kubeconfig" \
  --config "$LAB_DIR/kwok-stages.yaml" \
  --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip "$LAB_HOST" \
  --cidr 10.244.0.1/16 \
  --node-lease-duration-seconds 40
sleep 1
for c in kube-controller-manager kube-scheduler; do check_alive "$c"; done
[ "$MODE" = kwok ] && check_alive kwok
K="$KUBECTL --kubeconfig $LAB_KUBECONFIG"
wait_for "kube-controller-manager /healthz" 90 curl -fsSk "https://$LAB_HOST:$LAB_KCM_PORT/healthz"
wait_for "kube-scheduler /healthz" 90 curl -fsSk "https://$LAB_HOST:$LAB_SCHED_PORT/healthz"

# --- cluster objects: nodes, storage -------------------------------------------------------
$K apply --server-side --field-manager=airflow-lab-up -f "$LAB_DIR/cluster.yaml" >/dev/null \
  || lab_die "could not apply $LAB_DIR/cluster.yaml"
if [ "$MODE" = node ]; then
  node_up "$PKI"
else
  $K apply --server-side --field-manager=airflow-lab-up -f "$LAB_DIR/kwok-nodes.yaml" >/dev/null \
    || lab_die "could not apply $LAB_DIR/kwok-nodes.yaml"
fi
"$LAB_DIR/pvs.sh" "${LAB_PV_COUNT:-8}" >/dev/null
# $K is a command line (kubectl and its flags), split into words on purpose, as everywhere $K is used
# shellcheck disable=SC2086
wait_for "nodes Ready" 120 $K wait --for=condition=Ready node --all --timeout=2s
# shellcheck disable=SC2086
wait_for "default ServiceAccount in namespace default" 60 $K get serviceaccount default -n default

lab_log "lab up in $(lab_elapsed "$T0")s (started:${STARTED:- nothing, all was running})"
lab_log "export KUBECONFIG=$LAB_KUBECONFIG"
printf '%s\n' "$LAB_KUBECONFIG"
