#!/usr/bin/env bash
# Build the opsbot image for real and check it: /healthz answers and one Slack question is
# answered by the container (signed request in, chat.postMessage out to a local fake Slack).
#
# Docker Hub is not reachable here, so the base image is Debian bookworm made with
# debootstrap from Debian's mirror and `podman import`ed once (reused while podman has it).
# Users build with the default base instead: `podman build -t opsbot .` (python:3.11-slim).
#
#   scripts/container-check.sh            build (layer cache reused) and check
#   OPSBOT_BASE_REBUILD=1 ...             re-debootstrap the base image first
#
# Any step that cannot run (no podman, no debootstrap, a sandbox that forbids containers)
# fails loudly with exit code 1: this check never pretends.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_TAG=${OPSBOT_BASE_IMAGE:-localhost/opsbot-base:bookworm}
IMAGE=${OPSBOT_IMAGE:-localhost/opsbot:check}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PY=${PYTHON:-.venv/bin/python}

die() { echo "container-check: FAILED: $*" >&2; exit 1; }
step() { echo "container-check: $* ($(date +%T))" >&2; }

command -v podman >/dev/null || die "podman is not installed (apt-get install -y podman debootstrap)"
[[ -x $PY ]] || die "$PY missing: run 'make install' first (the probe uses the test fake Slack)"
started=$(date +%s)

if [[ -n ${OPSBOT_BASE_REBUILD:-} ]] || ! podman image exists "$BASE_TAG"; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"
    rootfs=$(mktemp -d /tmp/opsbot-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    step "debootstrap bookworm into $rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
        || { tail -20 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    step "podman import -> $BASE_TAG"
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null \
        || die "podman import failed"
    rm -rf "$rootfs"
else
    step "reusing base image $BASE_TAG"
fi

# Can podman start a container at all? Some sandboxes (this CI VM among them: no
# CAP_SYS_RESOURCE, cgroup v1/v2 hybrid) make crun fail to raise rlimits or set up cgroups;
# runc with explicit, lower ulimits works there. Anything else fails loudly here.
if ! err=$(podman run --rm "$BASE_TAG" true 2>&1); then
    step "podman's default runtime cannot start containers here: ${err##*$'\n'}"
    command -v runc >/dev/null || die "no runc to fall back to (apt-get install -y runc)"
    conf="$(mktemp /tmp/opsbot-containers.XXXXXX.conf)"
    nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
    [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
    [[ $nofile == unlimited || $nofile -gt 65536 ]] && nofile=65536
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\nruntime = "runc"\n' \
        "$nofile" "$nofile" "$nproc" "$nproc" >"$conf"
    export CONTAINERS_CONF=$conf
    err=$(podman run --rm "$BASE_TAG" true 2>&1) \
        || die "podman cannot run containers in this sandbox, even with runc: ${err##*$'\n'}"
    step "using runc with nofile=$nofile nproc=$nproc ($conf)"
fi

build_args=(--build-arg "BASE_IMAGE=$BASE_TAG")
mounts=()
if [[ -d /opt/wheels ]]; then  # this machine's CPU torch wheel; no PyTorch index here
    build_args+=(--build-arg TORCH_INDEX_URL= --build-arg PIP_FIND_LINKS=/opt/wheels)
    mounts+=(-v /opt/wheels:/opt/wheels:ro)
fi
for f in /etc/pip.conf /etc/ssl/certs/ca-certificates.crt; do  # the host's pip/TLS setup
    [[ -f $f ]] && mounts+=(-v "$f:$f:ro")
done
step "podman build $IMAGE"
podman build --format docker --network host --layers "${build_args[@]}" "${mounts[@]}" \
    -t "$IMAGE" -f Containerfile . || die "podman build failed"
built=$(date +%s)  # superseded images stay as layer cache; `podman image prune` reclaims them
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
step "built in $((built - started))s, image $((size / 1000000)) MB; running the probe"
"$PY" scripts/container_probe.py "$IMAGE" || die "the running image did not pass the probe"
step "passed in $(($(date +%s) - started))s"
