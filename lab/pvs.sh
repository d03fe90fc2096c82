#!/usr/bin/env bash
# Keeps at least N (default 8, half ReadWriteOnce, half ReadWriteMany) Available PersistentVolumes of StorageClass `lab` in the lab cluster,
# so PersistentVolumeClaims (including StatefulSet volumeClaimTemplates and ReadWriteMany claims) bind.
# Released volumes (their claim was deleted) are made Available again first.
# The volumes are hostPath directories under the lab's run directory: on the real node (level 2)
# every pod that mounts one shares the same directory, so ReadWriteMany really shares; kwok's fake
# nodes (level 1) mount nothing. A recycled volume is emptied first.
# Does nothing against an external cluster (AIRFLOW_LAB_KUBECONFIG), which has its own storage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
want="${1:-8}"
if lab_external; then lab_log "external cluster: not managing PersistentVolumes"; exit 0; fi
K() { "$LAB_BIN/kubectl" --kubeconfig "$LAB_KUBECONFIG" "$@"; }

# recycle: Released lab volumes lose their claimRef and become Available again
for pv in $(K get pv -l airflow-lab/pool=true -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{end}'); do
  dir="$(K get pv "$pv" -o jsonpath='{.spec.hostPath.path}')"
  [ -n "$dir" ] || dir="$(K get pv "$pv" -o jsonpath='{.spec.local.path}')"
  case "$dir" in "$LAB_RUN"/*) rm -rf "$dir"; mkdir -p "$dir" ;; esac
  K patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  lab_log "recycled released PersistentVolume $pv"
done

existing=$(K get pv -l airflow-lab/pool=true -o name | wc -l)
available=$(K get pv -l airflow-lab/pool=true -o jsonpath='{range .items[?(@.status.phase=="Available")]}{.metadata.name}{"\n"}{end}' | grep -c . || true)
# volumes just recycled may still show Released for a moment: count claimRef-less ones as available
free=$(K get pv -l airflow-lab/pool=true -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.claimRef.name}{"\n"}{end}' | awk 'NF==1' | wc -l)
[ "$free" -gt "$available" ] && available=$free
i=$existing
# Two kinds, as in real clusters: ReadWriteOnce volumes behave like block storage (a `local` volume:
# the kubelet applies the pod's fsGroup), ReadWriteMany volumes like NFS (a hostPath directory: the
# kubelet ignores fsGroup, so whatever writes there must make it writable itself).
i=$existing
while [ "$available" -lt "$want" ]; do
  name=$(printf 'lab-pv-%03d' "$i")
  dir="$LAB_RUN/node/volumes/$name"
  if [ $((i % 2)) = 0 ]; then
    mkdir -p "$dir"   # a local volume's directory must exist
    source="  accessModes: [ReadWriteOnce]
  local:
    path: $dir
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions: [{ key: kubernetes.io/os, operator: In, values: [linux] }]"
  else
    source="  accessModes: [ReadWriteMany]
  hostPath:
    path: $dir
    type: DirectoryOrCreate"
  fi
  cat <<YAML | K apply --server-side --field-manager=airflow-lab-up -f - >/dev/null
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels:
    airflow-lab/pool: "true"
spec:
  storageClassName: lab
  capacity:
    storage: 50Gi
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
$source
YAML
  i=$((i + 1)); available=$((available + 1))
done
lab_log "PersistentVolumes: $(K get pv -l airflow-lab/pool=true --no-headers | wc -l) in pool, at least $want free"
