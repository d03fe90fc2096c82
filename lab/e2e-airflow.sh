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
phase "images";         "$LAB_DIR/images.sh"
[ "$keep" = 1 ] || trap 'phase "lab down"; "$LAB_DIR/down.sh" || true' EXIT
phase "lab up";         "$LAB_DIR/up.sh" --node >/dev/null
phase "scenario"
rc=0
node_modules/.bin/mocha --config test-e2e/airflow/.mocharc.json || rc=$?
lab_log "scenario finished in $(lab_elapsed "$T0")s (exit $rc)"
exit $rc
