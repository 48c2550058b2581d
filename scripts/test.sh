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

cargo test --workspace --all-targets --locked
# Doc tests are not covered by --all-targets.
cargo test --workspace --doc --locked
