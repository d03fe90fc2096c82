#!/usr/bin/env bash
# Installs the Debian packages the level-2 lab (a real node) needs, when missing:
# containerd + runc (the node's runtime), the CNI plugins, iptables (kube-proxy), ipset (kube-router's
# NetworkPolicy enforcement), docker.io (image
# builds; the lab runs its own dockerd), debootstrap (the base root filesystem), gcc (the pause binary),
# chromium (the scenario looks at the UI as a person would).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
want="containerd runc containernetworking-plugins iptables ipset docker.io debootstrap gcc libc6-dev curl openssl chromium"
missing=""
for p in $want; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || true
  [ "$status" = "install ok installed" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then lab_log "host packages present"; exit 0; fi
[ "$(id -u)" = 0 ] || lab_die "missing Debian packages:$missing (run as root, or apt-get install them)"
lab_log "installing Debian packages:$missing"
apt-get update -qq >/dev/null
# shellcheck disable=SC2086  # $missing is a list of package names, split into words on purpose
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
lab_log "installed:$missing"
