#!/usr/bin/env bash
# Runs the whole test suite: unit tests, codec conformance against the OASIS vectors, HSM tests
# on real SoftHSM2, and the integration tests (real TLS, real servers on loopback).
# Installs what it needs first (see ensure-deps.sh). Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

# The OASIS vectors and specifications live beside the checkout (../shared); tests find them here.
export KMS_SHARED_DIR="${KMS_SHARED_DIR:-$(cd .. && pwd)/shared}"

ensure_pykmip

# The server's layers import only those below them (docs/ARCHITECTURE.md, "Server layers").
bash scripts/layers.sh

cargo test --workspace --all-targets --locked
# Doc tests are not covered by --all-targets.
cargo test --workspace --doc --locked

# The conformance reports, printed: vector files/messages round-tripped by the codec, and the
# per-file OASIS replay against a running server (passed / failed / skipped with reasons).
cargo test --locked -p kmip-codec --test vectors --test model_vectors -- --nocapture 2>&1 \
    | grep -E 'vector files|round-tripped through'
cargo test --locked -p kms-tests --test it conformance -- --nocapture 2>&1 \
    | grep -E '^(PASS|FAIL|SKIP)|passed, [0-9]+ failed'

# The three-node Compose cluster on real containers (prints SKIP and passes when Docker or
# Compose is not usable). It uses the unoptimised binaries compiled above
# (KMS_CARGO_PROFILE=dev): a release build would add 15-25 minutes on two cores. It builds the
# base image with debootstrap first when it is missing (root, network).
KMS_CARGO_PROFILE=dev bash compose/test.sh
