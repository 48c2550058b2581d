#!/usr/bin/env bash
# Installs what the project needs on a Debian machine (run as root), only when missing:
# a Rust toolchain, a C compiler, SoftHSM2, pkg-config and the openssl command (the tests
# check the server's RSA, MAC and wrapping results with it). Sourced by the other scripts.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v softhsm2-util >/dev/null 2>&1 || need_apt+=(softhsm2)
command -v curl >/dev/null 2>&1 || need_apt+=(curl ca-certificates)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if ((${#need_apt[@]})); then
    echo "installing: ${need_apt[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] || {
        echo "installing the Rust toolchain with rustup" >&2
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    }
    export PATH="$HOME/.cargo/bin:$PATH"
fi

# Where the SoftHSM2 PKCS#11 module lives (Debian puts it under the multiarch lib dir): the
# workspace's one lookup (scripts/softhsm-module.sh), exported for the tests and `kmsd dev`.
source "$(dirname "${BASH_SOURCE[0]}")/softhsm-module.sh"
if KMS_PKCS11_MODULE=$(softhsm_module); then export KMS_PKCS11_MODULE; else unset KMS_PKCS11_MODULE; fi

# PyKMIP, for the interoperability test: in a virtualenv under target/ so that Debian's
# externally-managed Python stays untouched. KMS_PYTHON names the interpreter to use.
ensure_pykmip() {
    local venv="${CARGO_TARGET_DIR:-target}/pyvenv"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import kmip' 2>/dev/null; then
        export KMS_PYTHON="$PWD/$venv/bin/python"
        return
    fi
    command -v python3 >/dev/null 2>&1 || { apt-get update -qq; apt-get install -y -qq python3 >/dev/null; }
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        apt-get update -qq; apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check pykmip
    export KMS_PYTHON="$PWD/$venv/bin/python"
}
