#!/usr/bin/env bash
# Builds the kmsd node image (default tag kms:local) from compose/Dockerfile:
#   1. the binaries on the host: cargo build --profile release --locked -p server -p client -p certs
#   2. a staging directory with kmsd, kmsctl, kms-certs, init.sh, bootstrap.sh and
#      scripts/softhsm-module.sh (init.sh's module lookup) as the build context
#   3. docker build, then `kmsd --version` inside the image (proves the host binary runs there)
#
#   bash compose/build-image.sh
#
# Environment: KMS_IMAGE (default kms:local), KMS_BASE_IMAGE (default kms-base:bookworm;
# build it first with compose/build-base.sh), CARGO_TARGET_DIR (where cargo puts target/),
# KMS_CARGO_PROFILE (default release; `dev` puts the unoptimised binaries of target/debug in
# the image: much quicker to build where the test suite already compiled the workspace, as in
# CI, and enough for compose/test.sh; deployments use release).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
image=${KMS_IMAGE:-kms:local}
base=${KMS_BASE_IMAGE:-kms-base:bookworm}
target=${CARGO_TARGET_DIR:-$repo/target}

die() {
    echo "build-image.sh: $*" >&2
    exit 1
}

command -v docker >/dev/null 2>&1 || die "docker is not installed"
command -v cargo >/dev/null 2>&1 || die "cargo is not installed (source scripts/ensure-deps.sh)"
docker image inspect "$base" >/dev/null 2>&1 || die "base image $base is missing: run compose/build-base.sh (as root)"

profile=${KMS_CARGO_PROFILE:-release}
case "$profile" in
release) out=release ;;
dev) out=debug ;;
*) die "KMS_CARGO_PROFILE must be release or dev, got '$profile'" ;;
esac
echo "build-image.sh: cargo build --profile $profile --locked -p server -p client -p certs"
(cd "$repo" && cargo build --profile "$profile" --locked -p server -p client -p certs)

stage=$(mktemp -d "${TMPDIR:-/tmp}/kms-image.XXXXXX")
log=$(mktemp "${TMPDIR:-/tmp}/kms-image-build.XXXXXX")
trap 'rm -rf "$stage" "$log"' EXIT
for bin in kmsd kmsctl kms-certs; do
    [[ -x $target/$out/$bin ]] || die "$target/$out/$bin was not built"
    cp "$target/$out/$bin" "$stage/"
    # The release profile keeps debug info (for profiling on the host); the image does not
    # need it. Symbols stay, so a backtrace still names functions.
    if command -v strip >/dev/null 2>&1; then strip --strip-debug "$stage/$bin"; fi
done
cp "$here/Dockerfile" "$here/init.sh" "$here/bootstrap.sh" "$repo/scripts/softhsm-module.sh" "$stage/"

echo "build-image.sh: docker build -t $image"
# The Dockerfile names the base by its default tag; a different one is passed through sed.
if [[ $base != kms-base:bookworm ]]; then
    sed -i "s|^FROM kms-base:bookworm\$|FROM $base|" "$stage/Dockerfile"
fi
# The classic builder: the engine may lack BuildKit's buildx client. Its deprecation notice
# and progress are shown only when the build fails.
if ! DOCKER_BUILDKIT=0 docker build -t "$image" "$stage" >"$log" 2>&1; then
    cat "$log" >&2
    die "docker build failed"
fi
version=$(docker run --rm "$image" --version) || die "kmsd does not run inside $image"
echo "build-image.sh: built $image ($version)"
