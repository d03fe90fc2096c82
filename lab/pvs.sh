#!/usr/bin/env bash
# Keeps at least N (default 8) Available PersistentVolumes of StorageClass `lab` in the lab cluster,
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
  case "$dir" in "$LAB_RUN"/*) rm -rf "$dir" ;; esac
  K patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  lab_log "recycled released PersistentVolume $pv"
done

existing=$(K get pv -l airflow-lab/pool=true -o name | wc -l)
available=$(K get pv -l airflow-lab/pool=true -o jsonpath='{range .items[?(@.status.phase=="Available")]}{.metadata.name}{"\n"}{end}' | grep -c . || true)
# volumes just recycled may still show Released for a moment: count claimRef-less ones as available
free=$(K get pv -l airflow-lab/pool=true -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.claimRef.name}{"\n"}{end}' | awk 'NF==1' | wc -l)
[ "$free" -gt "$available" ] && available=$free
i=$existing
while [ "$available" -lt "$want" ]; do
  name=$(printf 'lab-pv-%03d' "$i")
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
  accessModes: [ReadWriteOnce, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
  hostPath:
    path: $LAB_RUN/node/volumes/$name
    type: DirectoryOrCreate
YAML
  i=$((i + 1)); available=$((available + 1))
done
lab_log "PersistentVolumes: $(K get pv -l airflow-lab/pool=true --no-headers | wc -l) in pool, at least $want free"
