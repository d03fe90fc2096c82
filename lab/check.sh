#!/usr/bin/env bash
# lab/check.sh FILE [NAMESPACE] [--expect-reject REGEX]
# Feeds a multi-document YAML or a JSON array of Kubernetes objects to the lab cluster
# (or the cluster in AIRFLOW_LAB_KUBECONFIG): strict server-side apply, wait until ready,
# re-apply must change nothing, delete must leave the namespace empty. Prints step timings.
# With --expect-reject, passes only if the API server rejects the objects with a matching error.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
[ -x "$REPO_DIR/node_modules/.bin/ts-node" ] || lab_die "node_modules/.bin/ts-node not found: run npm ci in $REPO_DIR"
[ -r "$(lab_kubeconfig)" ] || lab_die "no kubeconfig at $(lab_kubeconfig): run lab/up.sh first (or set AIRFLOW_LAB_KUBECONFIG)"
cd "$REPO_DIR"
exec node_modules/.bin/ts-node --transpile-only -P tsconfig.json lab/ts/checkCli.ts "$@"
