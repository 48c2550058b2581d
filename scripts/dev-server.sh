#!/usr/bin/env bash
# Runs a single-node KMS on embedded defaults. First run creates, under ./.kms-dev: a SoftHSM2
# token holding the Root of Trust, a development PKI, two demo tenants with a KMIP client
# certificate each, and the data directory. Usage: bash scripts/dev-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
cargo build --release --locked -p server --bin kmsd
exec target/release/kmsd dev --dir "${KMS_DEV_DIR:-.kms-dev}"
