#!/usr/bin/env bash
# Builds the level-2 lab's images on this machine (no image can be pulled here) and pushes them to
# the loopback registry; cached: an image that exists is not rebuilt (LAB_REBUILD=1 forces).
#   airflow-lab/debian:bookworm    debootstrap --variant=minbase root filesystem (bookworm, -updates, -security)
#   airflow-lab/debian:trixie      the same for Debian 13 (the Postgres stand-in's PostgreSQL 17)
#   airflow-lab/airflow:3.3.2      stand-in for apache/airflow:3.3.2 (same contract; lab/images/airflow)
#   lab/postgres:17                stand-in for the official postgres image (lab/images/postgres)
#   lab/pause, lab/coredns         the node's sandbox image and cluster DNS (static binaries, FROM scratch)
#   lab/statsd-exporter            stand-in for quay.io/prometheus/statsd-exporter (static binary, FROM scratch)
#   lab/git-server                 the scenario's git server: smart HTTP and SSH (lab/images/git-server)
#   lab/git-sync:<version>         stand-in for registry.k8s.io/git-sync/git-sync, only when AIRFLOW_LAB_GIT_SYNC
#                                  names a git-sync binary built elsewhere (no registry here serves it)
# The project's own images (base, DAG and task images) are built by the stacks themselves through the
# package's images.build (@pulumi/docker, this dockerd, the loopback registry) when they deploy through
# the Pulumi engine and the docker provider plugin is installed: then the stand-in is pushed for the
# base to start FROM, and nothing else is built here. Otherwise (AIRFLOW_LAB_DEPLOY=render, no CLI or
# plugin, or AIRFLOW_LAB_IMAGES=lab) this script builds them from images/ unchanged but for the base
# image's FROM (and the constraints file, since GitHub is unreachable here):
#   airflow/base, airflow/dags, airflow/task-example, and airflow/dags:lab-v2 (plus lab/testdata/dags)
# The stand-ins are also served under the names of the images the package defaults to
# (docker.io/apache/airflow, docker.io/library/postgres, busybox (the Debian root filesystem),
# quay.io/prometheus/statsd-exporter, registry.k8s.io/git-sync/git-sync), for the node's registry mirror.
# With AIRFLOW_LAB_PREVIOUS (an earlier Airflow 3 release), also the stand-in, base and DAG image of
# that release, for the upgrade spec.
# Writes the digest-pinned references, and who builds the project images, to $LAB_IMAGES_ENV.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
T0=$(lab_now)
mkdir -p "$AIRFLOW_LAB_CACHE/contexts" "$LAB_LOGS"
command -v debootstrap >/dev/null 2>&1 || lab_die "debootstrap not found: run lab/host-packages.sh (apt-get install debootstrap)"
lab_dockerd_up

have_image() { lab_docker image inspect "$1" >/dev/null 2>&1 && [ "${LAB_REBUILD:-0}" != 1 ]; }
# content_tag TEXT... -> 12 hex digits naming what an image is built from (its context files and
# parents), so editing a Dockerfile or rebuilding a parent rebuilds the image without LAB_REBUILD
content_tag() {
  local f
  for f in "$@"; do
    if [ -d "$f" ]; then (cd "$f" && find . -type f -print0 | sort -z | xargs -0 sha256sum); else printf '%s\n' "$f"; fi
  done | sha256sum | cut -c1-12
}
image_id() { lab_docker image inspect --format '{{.Id}}' "$1"; }
build() { # TAG CONTEXT [docker build args...]
  local tag=$1 ctx=$2 t; shift 2
  t=$(lab_now)
  lab_log "building $tag (log: $LAB_LOGS/image-${tag//[\/:]/_}.log)"
  DOCKER_BUILDKIT=0 lab_docker build --network host --pull=false -t "$tag" "$@" "$ctx" >"$LAB_LOGS/image-${tag//[\/:]/_}.log" 2>&1 \
    || { tail -30 "$LAB_LOGS/image-${tag//[\/:]/_}.log" >&2; lab_die "building $tag failed"; }
  lab_log "built $tag in $(lab_elapsed "$t")s"
}
# push TAG -> prints the digest-pinned reference in the registry
push() {
  local tag=$1 remote="$LAB_REGISTRY/$1" digest
  lab_docker tag "$tag" "$remote"
  lab_docker push "$remote" >"$LAB_LOGS/push.log" 2>&1 || { tail -5 "$LAB_LOGS/push.log" >&2; lab_die "pushing $remote failed"; }
  digest="$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' "$LAB_LOGS/push.log" | tail -1)"
  [ -n "$digest" ] || lab_die "no digest in the push output of $remote"
  printf '%s@%s\n' "${remote%:*}" "$digest"
}

# --- Debian root filesystems ----------------------------------------------------------------
# debian_rootfs SUITE: airflow-lab/debian:SUITE, debootstrap --variant=minbase with SUITE, -updates
# and -security (the suite alone lacks the patched releases)
debian_rootfs() {
  local suite=$1 image="airflow-lab/debian:$1" root t
  have_image "$image" && return 0
  t=$(lab_now)
  root="$AIRFLOW_LAB_CACHE/rootfs-$suite"
  rm -rf "$root"
  lab_log "debootstrap $suite (minbase) into $root (log: $LAB_LOGS/debootstrap-$suite.log)"
  debootstrap --variant=minbase "$suite" "$root" http://deb.debian.org/debian >"$LAB_LOGS/debootstrap-$suite.log" 2>&1 \
    || { tail -20 "$LAB_LOGS/debootstrap-$suite.log" >&2; lab_die "debootstrap $suite failed"; }
  printf '%s\n' "deb http://deb.debian.org/debian $suite main" \
    "deb http://deb.debian.org/debian $suite-updates main" \
    "deb http://deb.debian.org/debian-security $suite-security main" >"$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | lab_docker import - "$image" >/dev/null
  rm -rf "$root"
  lab_log "imported $image in $(lab_elapsed "$t")s"
}
DEBIAN=airflow-lab/debian:bookworm
debian_rootfs bookworm
# the PostgreSQL major the package defaults to (17) is Debian 13's
debian_rootfs trixie

# --- stand-ins for the upstream images --------------------------------------------------------
AIRFLOW_STANDIN="airflow-lab/airflow:3.3.2-$(content_tag "$LAB_DIR/images/airflow")"
if ! have_image "$AIRFLOW_STANDIN"; then
  ctx="$AIRFLOW_LAB_CACHE/contexts/airflow"
  rm -rf "$ctx"; cp -r "$LAB_DIR/images/airflow" "$ctx"
  cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/host-ca.crt"
  build "$AIRFLOW_STANDIN" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN"
fi
POSTGRES="lab/postgres:17-$(content_tag "$LAB_DIR/images/postgres" "$(image_id airflow-lab/debian:trixie)")"
have_image "$POSTGRES" || build "$POSTGRES" "$LAB_DIR/images/postgres" --build-arg DEBIAN_IMAGE=airflow-lab/debian:trixie
GIT_SERVER="lab/git-server:$(content_tag "$LAB_DIR/images/git-server" "$(image_id "$DEBIAN")")"
have_image "$GIT_SERVER" || build "$GIT_SERVER" "$LAB_DIR/images/git-server" --build-arg "DEBIAN_IMAGE=$DEBIAN"
lab_docker tag "$GIT_SERVER" lab/git-server:latest
# git-sync as upstream packages it: its binary, git and openssh-client from Debian, uid 65533 with a
# passwd entry (ssh needs one), HOME=/tmp. The binary is handed in; nothing here builds it.
GIT_SYNC="" GIT_SYNC_VERSION=""
if [ -n "${AIRFLOW_LAB_GIT_SYNC:-}" ]; then
  [ -x "$AIRFLOW_LAB_GIT_SYNC" ] || lab_die "AIRFLOW_LAB_GIT_SYNC=$AIRFLOW_LAB_GIT_SYNC is not an executable git-sync binary"
  version="$("$AIRFLOW_LAB_GIT_SYNC" --version 2>/dev/null | tr -dc 'A-Za-z0-9.-')"
  [ -n "$version" ] || lab_die "$AIRFLOW_LAB_GIT_SYNC --version printed nothing: is it git-sync?"
  GIT_SYNC_VERSION=$version
  GIT_SYNC="lab/git-sync:$version-$(content_tag "$(sha256sum <"$AIRFLOW_LAB_GIT_SYNC")" "$(image_id "$DEBIAN")")"
  if ! have_image "$GIT_SYNC"; then
    ctx="$AIRFLOW_LAB_CACHE/contexts/git-sync"
    rm -rf "$ctx"; mkdir -p "$ctx"; cp "$AIRFLOW_LAB_GIT_SYNC" "$ctx/git-sync"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN
RUN apt-get update && apt-get -y upgrade && apt-get install -y --no-install-recommends git openssh-client ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && echo "git-sync:x:65533:65533::/tmp:/sbin/nologin" >>/etc/passwd && echo "git-sync:x:65533:" >>/etc/group \\
 && mkdir -m 02775 /git && chown 65533:65533 /git
COPY git-sync /git-sync
USER 65533:65533
ENV HOME=/tmp GITSYNC_ROOT=/git
WORKDIR /tmp
ENTRYPOINT ["/git-sync"]
DOCKERFILE
    build "$GIT_SYNC" "$ctx"
  fi
else
  lab_log "no git-sync binary (set AIRFLOW_LAB_GIT_SYNC to one built from kubernetes/git-sync): no git-sync image, the scenario skips its git-sync part"
fi
for b in registry pause coredns statsd_exporter; do [ -x "$LAB_BIN/$b" ] || lab_die "missing $LAB_BIN/$b: run lab/toolchain.sh --node first"; done
lab_registry_up
# static binaries FROM scratch; the exporter runs as nobody, as upstream's image does
for b in pause coredns statsd_exporter; do
  name="${b//_/-}" user="" sum="$(sha256sum <"$LAB_BIN/$b" | cut -c1-64)"
  [ "$b" = statsd_exporter ] && user='USER 65534:65534\n'
  # rebuilt when the binary changes (a new version from lab/toolchain.sh)
  if ! have_image "lab/$name:latest" || [ "$(lab_docker image inspect --format '{{index .Config.Labels "lab.binary-sha256"}}' "lab/$name:latest")" != "$sum" ]; then
    ctx="$AIRFLOW_LAB_CACHE/contexts/$name"
    rm -rf "$ctx"; mkdir -p "$ctx"; cp "$LAB_BIN/$b" "$ctx/$b"
    printf "FROM scratch\nLABEL lab.binary-sha256=%s\nCOPY %s /%s\n${user}ENTRYPOINT [\"/%s\"]\n" "$sum" "$b" "$b" "$b" >"$ctx/Dockerfile"
    build "lab/$name:latest" "$ctx"
  fi
done

# --- the stand-ins under the upstream names -----------------------------------------------------
# Each stand-in is also pushed as <host>/<path>:<tag> of the image the package defaults to
# (lab/ts/upstreamImages.ts); containerd on the lab's node resolves those hosts through this registry
# (lab/node.sh), so a stack names the upstream images on the lab as on any cluster.
declare -A STANDIN=([airflow]="$AIRFLOW_STANDIN" [postgres]="$POSTGRES" [setup]="$DEBIAN" [statsdExporter]=lab/statsd-exporter:latest [gitSync]="$GIT_SYNC")
UPSTREAM="$("$REPO_DIR/node_modules/.bin/ts-node" --transpile-only "$LAB_DIR/ts/upstreamImages.ts")"
MIRROR_HOSTS=() MIRRORED=() MIRRORED_REFS=()
while read -r what ref; do
  src="${STANDIN[$what]:-}"
  if [ -z "$src" ]; then lab_log "no stand-in for $ref: not served by the lab"; continue; fi
  if [ "$what" = gitSync ] && [ "${ref##*:}" != "$GIT_SYNC_VERSION" ]; then
    lab_log "the git-sync binary is $GIT_SYNC_VERSION, the package defaults to $ref: not served under that name"; continue
  fi
  lab_docker tag "$src" "$LAB_REGISTRY/$ref"
  lab_docker push "$LAB_REGISTRY/$ref" >"$LAB_LOGS/push.log" 2>&1 || { tail -5 "$LAB_LOGS/push.log" >&2; lab_die "pushing $LAB_REGISTRY/$ref failed"; }
  digest="$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' "$LAB_LOGS/push.log" | tail -1)"
  [ -n "$digest" ] || lab_die "no digest in the push output of $LAB_REGISTRY/$ref"
  # the node drops a cached copy of this tag that differs (lab/node.sh): a tag is pulled only once
  MIRRORED_REFS+=("$ref@$digest")
  host=${ref%%/*}
  [[ " ${MIRROR_HOSTS[*]} " == *" $host "* ]] || MIRROR_HOSTS+=("$host")
  MIRRORED+=("$what")
done <<<"$UPSTREAM"
lab_log "serving ${MIRRORED[*]} under their upstream names (${MIRROR_HOSTS[*]})"

# --- the project's images ---------------------------------------------------------------------
# project_images_source -> "engine|lab WHY": who builds them (lab/ts/airflow/engineImages.ts reads it)
project_images_source() {
  [ "${AIRFLOW_LAB_DEPLOY:-}" != render ] || { echo "lab AIRFLOW_LAB_DEPLOY=render: the stacks deploy without the engine"; return; }
  [ "${AIRFLOW_LAB_IMAGES:-}" != lab ] || { echo "lab AIRFLOW_LAB_IMAGES=lab"; return; }
  command -v pulumi >/dev/null 2>&1 || { echo "lab the pulumi CLI is not installed"; return; }
  local plugins p
  plugins="$(pulumi plugin ls 2>/dev/null | awk '$2 == "resource" {print $1 "@" $3}')"
  for p in kubernetes@4.34.2 random@4.21.2 docker@5.2.0; do
    [[ $'\n'"$plugins"$'\n' == *$'\n'"$p"$'\n'* ]] || { echo "lab the ${p%@*} ${p#*@} provider plugin is not installed"; return; }
  done
  echo "engine pulumi $(pulumi version) with the docker ${p#*@} provider plugin"
}
read -r PROJECT_IMAGES PROJECT_IMAGES_WHY <<<"$(project_images_source)"
# what this script pushes in either case: the stand-ins, and the images the node and the scenario run
upstream_refs() {
  echo "LAB_IMAGE_POSTGRES=$(push "$POSTGRES")"
  echo "LAB_IMAGE_PAUSE=$(push lab/pause:latest)"
  echo "LAB_IMAGE_COREDNS=$(push lab/coredns:latest)"
  echo "LAB_IMAGE_STATSD_EXPORTER=$(push lab/statsd-exporter:latest)"
  echo "LAB_IMAGE_GIT_SERVER=$(push lab/git-server:latest)"
  [ -z "$GIT_SYNC" ] || echo "LAB_IMAGE_GIT_SYNC=$(push "$GIT_SYNC")"
  echo "LAB_MIRROR_HOSTS=\"${MIRROR_HOSTS[*]}\""
  echo "LAB_MIRRORED=\"${MIRRORED[*]}\""
  echo "LAB_MIRRORED_REFS=\"${MIRRORED_REFS[*]}\""
}
if [ "$PROJECT_IMAGES" = engine ]; then
  lab_log "project images: built by the stacks through images.build ($PROJECT_IMAGES_WHY); pushing the apache/airflow stand-in they start FROM"
  project_refs() { echo "LAB_IMAGE_AIRFLOW_UPSTREAM=$(push "$AIRFLOW_STANDIN")"; }
else
  lab_log "project images: built here ($PROJECT_IMAGES_WHY); the stacks deploy them by digest"
  BASE="airflow/base:lab-$(content_tag "$REPO_DIR/images/base" "$(image_id "$AIRFLOW_STANDIN")")"
  have_image "$BASE" || build "$BASE" "$REPO_DIR/images/base" \
    --build-arg "AIRFLOW_BASE_IMAGE=$AIRFLOW_STANDIN" --build-arg "AIRFLOW_CONSTRAINTS_URL=/opt/airflow-lab/constraints.txt"
  lab_docker tag "$BASE" airflow/base:lab
  BASE_REF="$(push airflow/base:lab)"
  # DAG and task images build FROM the base by digest, as components/images.ts does
  LAB_REBUILD=1 build airflow/dags:lab "$REPO_DIR/images/dags" --build-arg "BASE_IMAGE=$BASE_REF"
  # the same DAG image plus the lab's test DAGs (one added after deploy, one with an import error):
  # the scenario upgrades to it to check DAG delivery, a new migration Job and kept history
  ctx="$AIRFLOW_LAB_CACHE/contexts/dags-v2"
  rm -rf "$ctx"; cp -r "$REPO_DIR/images/dags" "$ctx"; cp "$LAB_DIR"/testdata/dags/*.py "$ctx/dags/"
  LAB_REBUILD=1 build airflow/dags:lab-v2 "$ctx" --build-arg "BASE_IMAGE=$BASE_REF"
  TASK="airflow/task-example:lab-$(content_tag "$REPO_DIR/images/tasks/example" "$BASE_REF")"
  have_image "$TASK" || build "$TASK" "$REPO_DIR/images/tasks/example" --build-arg "BASE_IMAGE=$BASE_REF"
  lab_docker tag "$TASK" airflow/task-example:lab
  project_refs() {
    echo "LAB_IMAGE_BASE=$BASE_REF"
    echo "LAB_IMAGE_DAGS=$(push airflow/dags:lab)"
    echo "LAB_IMAGE_DAGS_V2=$(push airflow/dags:lab-v2)"
    echo "LAB_IMAGE_TASK_EXAMPLE=$(push airflow/task-example:lab)"
  }
fi

# --- the previous Airflow minor, for the in-place upgrade (test-e2e/airflow/upgrade.e2e.ts) -------
# AIRFLOW_LAB_PREVIOUS=3.2.2: the apache/airflow stand-in, the base and the DAG image with the lab's
# test DAGs at that version, from PyPI like the current one; pushed by digest only.
previous_refs() { :; }
if [ -n "${AIRFLOW_LAB_PREVIOUS:-}" ]; then
  [[ "$AIRFLOW_LAB_PREVIOUS" =~ ^3\.[0-9]+\.[0-9]+$ ]] || lab_die "AIRFLOW_LAB_PREVIOUS=$AIRFLOW_LAB_PREVIOUS: expected an Airflow 3 release such as 3.2.2"
  PREV_STANDIN="airflow-lab/airflow:$AIRFLOW_LAB_PREVIOUS-$(content_tag "$LAB_DIR/images/airflow" prior-to)"
  if ! have_image "$PREV_STANDIN"; then
    ctx="$AIRFLOW_LAB_CACHE/contexts/airflow-previous"
    rm -rf "$ctx"; cp -r "$LAB_DIR/images/airflow" "$ctx"
    cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/host-ca.crt"
    # what PyPI had the day after that release: its upstream constraints are on GitHub, out of reach
    released="$(curl -fsS https://pypi.org/pypi/apache-airflow/json | python3 -c \
      'import json,sys; print(min(f["upload_time_iso_8601"] for f in json.load(sys.stdin)["releases"][sys.argv[1]]))' "$AIRFLOW_LAB_PREVIOUS")" \
      || lab_die "could not read the upload date of apache-airflow $AIRFLOW_LAB_PREVIOUS from PyPI"
    prior_to="$(date -u -d "$released + 1 day" +%Y-%m-%dT%H:%M:%SZ)"
    lab_log "apache-airflow $AIRFLOW_LAB_PREVIOUS was released $released: installing what PyPI had before $prior_to"
    build "$PREV_STANDIN" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN" --build-arg "AIRFLOW_VERSION=$AIRFLOW_LAB_PREVIOUS" \
      --build-arg "AIRFLOW_LAB_UPLOADED_PRIOR_TO=$prior_to"
  fi
  PREV_BASE="airflow/base:lab-$AIRFLOW_LAB_PREVIOUS-$(content_tag "$REPO_DIR/images/base" "$(image_id "$PREV_STANDIN")")"
  have_image "$PREV_BASE" || build "$PREV_BASE" "$REPO_DIR/images/base" --build-arg "AIRFLOW_BASE_IMAGE=$PREV_STANDIN" \
    --build-arg "AIRFLOW_VERSION=$AIRFLOW_LAB_PREVIOUS" --build-arg "AIRFLOW_CONSTRAINTS_URL=/opt/airflow-lab/constraints.txt"
  PREV_BASE_REF="$(push "$PREV_BASE")"
  ctx="$AIRFLOW_LAB_CACHE/contexts/dags-previous"
  rm -rf "$ctx"; cp -r "$REPO_DIR/images/dags" "$ctx"; cp "$LAB_DIR"/testdata/dags/*.py "$ctx/dags/"
  LAB_REBUILD=1 build "airflow/dags:lab-$AIRFLOW_LAB_PREVIOUS" "$ctx" --build-arg "BASE_IMAGE=$PREV_BASE_REF"
  PREV_DAGS_REF="$(push "airflow/dags:lab-$AIRFLOW_LAB_PREVIOUS")"
  previous_refs() {
    echo "LAB_IMAGE_PREVIOUS_AIRFLOW_VERSION=$AIRFLOW_LAB_PREVIOUS" # the release of the PREVIOUS_* images
    echo "LAB_IMAGE_PREVIOUS_DAGS_V2=$PREV_DAGS_REF"
  }
fi

{
  echo "# written by lab/images.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "LAB_PROJECT_IMAGES=$PROJECT_IMAGES"
  echo "LAB_PROJECT_IMAGES_WHY='$PROJECT_IMAGES_WHY'"
  project_refs
  previous_refs
  upstream_refs
} >"$LAB_IMAGES_ENV.tmp"
mv "$LAB_IMAGES_ENV.tmp" "$LAB_IMAGES_ENV"
lab_log "images ready in $(lab_elapsed "$T0")s; references in $LAB_IMAGES_ENV"
cat "$LAB_IMAGES_ENV" >&2
