#!/usr/bin/env bash
# Builds the local base image `kms-base:bookworm` (Debian bookworm, minbase) that
# compose/Dockerfile starts FROM. No image registry is needed: the root file system comes
# from `debootstrap` over a Debian package mirror and is loaded with `docker import`.
#
#   bash compose/build-base.sh            # build when the image is missing, else do nothing
#   bash compose/build-base.sh --force    # rebuild it
#
# Environment: KMS_BASE_IMAGE (default kms-base:bookworm), KMS_DEBIAN_MIRROR
# (default http://deb.debian.org/debian). Needs root (debootstrap) and a usable Docker engine;
# installs debootstrap with apt-get when it is missing.
set -euo pipefail
# softhsm_module: the workspace's one SoftHSM2 module lookup, here into the new root.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/softhsm-module.sh"

image=${KMS_BASE_IMAGE:-kms-base:bookworm}
mirror=${KMS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# What kmsd, kmsctl and kms-certs need at run time beyond minbase (they link only libc,
# libm and libgcc_s, all in minbase; check with `ldd target/release/kmsd`): the SoftHSM2
# PKCS#11 module and its tool (softhsm2 pulls libsofthsm2, libssl3, libstdc++6), and CA
# certificates for anyone who runs a TLS client inside the container.
packages=softhsm2,ca-certificates

die() {
    echo "build-base.sh: $*" >&2
    exit 1
}

force=0
for arg in "$@"; do
    case "$arg" in
    --force) force=1 ;;
    -h | --help)
        sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument '$arg' (expected --force or --help)" ;;
    esac
done

command -v docker >/dev/null 2>&1 || die "docker is not installed (install docker.io, or Docker Engine)"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine: is it running, and may this user use it?"

if [[ $force -eq 0 ]] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "build-base.sh: $image exists ($(docker image inspect --format '{{.Id}}' "$image" | cut -c1-19)); --force rebuilds it"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "debootstrap needs root: run this script as root (e.g. with sudo)"
if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing and there is no apt-get to install it; install debootstrap"
    echo "build-base.sh: installing debootstrap"
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || die "could not install debootstrap"
fi

rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/kms-base.XXXXXX")
cleanup() {
    # debootstrap mounts /proc and /sys inside the target and may leave them on failure:
    # unmount first, and never let rm cross into another file system.
    local m
    for m in $(awk -v root="$rootfs" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$rootfs"
}
trap cleanup EXIT

echo "build-base.sh: debootstrap $suite (minbase + $packages) from $mirror"
started=$SECONDS
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
    tail -n 20 "$rootfs.log" >&2
    rm -f "$rootfs.log"
    die "debootstrap failed (mirror $mirror reachable? set KMS_DEBIAN_MIRROR)"
fi
rm -f "$rootfs.log"

softhsm_module "$rootfs" >/dev/null || die "the SoftHSM2 module is missing from the new root file system"
# Package caches and lists are not needed at run time (the image never runs apt).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

old_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
echo "build-base.sh: importing into Docker as $image"
tar -C "$rootfs" --numeric-owner -c . |
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' \
        --message "debootstrap --variant=minbase --include=$packages $suite" \
        - "$image" >/dev/null
# A rebuilt base leaves the old one untagged: remove it unless an image still builds on it.
if [[ -n $old_id ]]; then docker image rm "$old_id" >/dev/null 2>&1 || true; fi
echo "build-base.sh: built $image in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$image" | awk '{ printf "%d MB", $1 / 1000000 }'))"
