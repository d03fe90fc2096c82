#!/usr/bin/env bash
# Whole end-to-end run: the e2e mocha suite, whose before() builds the toolchain (cached) and
# starts the lab (idempotent); it checks the sample manifests and the objects rendered from the
# stack configs.
#   lab/e2e.sh [--down]    --down: stop the lab afterwards
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
T0=$(lab_now)
down=0
[ "${1:-}" = "--down" ] && down=1
cd "$REPO_DIR"
rc=0
# Postgres data claims are kept when a StatefulSet is deleted (the Kubernetes default, on purpose:
# a replaced StatefulSet must not take the database with it). The check then reports them as a
# warning; the namespace deletion still proves nothing else is left behind.
export LAB_ALLOW_RETAINED_PVCS="${LAB_ALLOW_RETAINED_PVCS:-1}"
node_modules/.bin/mocha --config test-e2e/.mocharc.json || rc=$?
[ "$down" = 1 ] && "$LAB_DIR/down.sh"
lab_log "e2e finished in $(lab_elapsed "$T0")s (exit $rc)"
exit $rc
