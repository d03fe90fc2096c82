#!/usr/bin/env bash
# actionlint, the linter made for GitHub Actions workflows (github.com/rhysd/actionlint), built from
# the Go module proxy into the lab's tool cache ($AIRFLOW_LAB_CACHE/bin, never the repository), then
# run on .github/workflows. It also runs shellcheck on the workflows' `run:` scripts when shellcheck
# is on PATH. Idempotent: a binary that already reports the pinned version is not rebuilt.
#   bash tools/actionlint.sh             build when missing, then lint
#   bash tools/actionlint.sh --install   build when missing, lint nothing
# .ci/run lints with it when it is installed, and says so in one line when it is not.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
ACTIONLINT="$LAB_BIN/actionlint"

install_only=0
for arg in "$@"; do
  case "$arg" in
    --install) install_only=1 ;;
    *) lab_die "unknown option $arg (allowed: --install)" ;;
  esac
done

if lab_output_has "$ACTIONLINT_VERSION" "$ACTIONLINT" -version; then
  lab_log "actionlint $ACTIONLINT_VERSION already built ($ACTIONLINT)"
else
  command -v go >/dev/null 2>&1 || lab_die "Go toolchain not found: actionlint $ACTIONLINT_VERSION is built with go install from the Go module proxy"
  mkdir -p "$LAB_BIN" "$LAB_LOGS"
  t=$(lab_now)
  lab_log "building actionlint $ACTIONLINT_VERSION (log: $LAB_LOGS/build-actionlint.log)"
  (cd "$LAB_BIN" && CGO_ENABLED=0 GOBIN="$LAB_BIN" nice -n 10 go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >"$LAB_LOGS/build-actionlint.log" 2>&1) \
    || { tail -20 "$LAB_LOGS/build-actionlint.log" >&2; lab_die "building actionlint failed (see $LAB_LOGS/build-actionlint.log)"; }
  lab_log "built actionlint in $(lab_elapsed "$t")s"
fi
[ "$install_only" = 1 ] && exit 0
cd "$REPO_DIR"
v="$("$ACTIONLINT" -version)"
lab_log "actionlint ${v%%$'\n'*}: linting .github/workflows"
"$ACTIONLINT" .github/workflows/*.yml
lab_log "actionlint: .github/workflows is clean"
