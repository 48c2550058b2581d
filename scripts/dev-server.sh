#!/usr/bin/env bash
# Runs a single-node KMS on embedded defaults, on 127.0.0.1:5696 (KMIP) and 127.0.0.1:5697
# (admin API). First run creates, under ./.kms-dev: a SoftHSM2 token holding the Root of Trust,
# a development PKI, two demo tenants with a KMIP client certificate each, the data directory,
# and a kmsctl settings file per demo identity; the banner prints kmsctl commands to paste.
# Usage: bash scripts/dev-server.sh [--listen ADDR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
cargo build --release --locked -p server --bin kmsd -p client --bin kmsctl
exec target/release/kmsd dev --dir "${KMS_DEV_DIR:-.kms-dev}" "$@"
