#!/usr/bin/env bash
# Level-2 scenario: Airflow really runs. From a fresh clone: installs the host packages, builds what
# is missing (cached under $AIRFLOW_LAB_CACHE), starts the lab with its real node, runs the scenario
# (test-e2e/airflow), and always takes the lab down again, restoring the host. Exit code: the suite's.
#   lab/e2e-airflow.sh [--keep]     --keep: leave the lab running afterwards (for debugging)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
T0=$(lab_now)
keep=0
[ "${1:-}" = "--keep" ] && keep=1
cd "$REPO_DIR"
[ "$(id -u)" = 0 ] || lab_die "the real node needs root (containerd, kubelet, network and cgroup set-up)"
[ -x node_modules/.bin/mocha ] || npm ci --no-audit --no-fund >/dev/null
phase() { lab_log "== $1 ($(lab_elapsed "$T0")s)"; }
phase "host packages";  "$LAB_DIR/host-packages.sh"
phase "toolchain";      "$LAB_DIR/toolchain.sh" --node
# the previous Airflow release too, for test-e2e/airflow/upgrade.e2e.ts
phase "images";         AIRFLOW_LAB_PREVIOUS="${AIRFLOW_LAB_PREVIOUS-3.2.2}" "$LAB_DIR/images.sh"
# What the host looks like before the lab: lab/down.sh must leave it exactly so (host-state.sh lists it).
"$LAB_DIR/down.sh" >/dev/null 2>&1 || true
host_before="$("$LAB_DIR/host-state.sh")"
rc=0
# shellcheck disable=SC2317  # host_check runs from the EXIT trap below, which shellcheck does not follow
host_check() {
  phase "lab down"
  "$LAB_DIR/down.sh" || rc=1
  local changed
  changed="$(diff <(printf '%s\n' "$host_before") <("$LAB_DIR/host-state.sh") || true)"
  if [ -n "$changed" ]; then
    lab_log "host state after lab/down.sh differs from before the lab (< before, > after):"
    printf '%s\n' "$changed" >&2
    rc=1
  else
    lab_log "host state after lab/down.sh: as before the lab ($(printf '%s\n' "$host_before" | wc -l) facts: sysctls, modules, iptables chains, ipsets, netns, links, paths)"
  fi
}
[ "$keep" = 1 ] || trap 'host_check; exit $rc' EXIT
phase "lab up";         "$LAB_DIR/up.sh" --node >/dev/null
phase "scenario"
node_modules/.bin/mocha --config test-e2e/airflow/.mocharc.json || rc=$?
lab_log "scenario finished in $(lab_elapsed "$T0")s (exit $rc)"
exit $rc
