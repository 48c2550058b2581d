#!/usr/bin/env bash
# The SoftHSM2 PKCS#11 module, for the shell scripts: the same rule as the Rust crate
# softhsm-support (KMS_PKCS11_MODULE when set and not empty, else the first of these places
# that holds the file; a test there checks the two lists are the same). Sourced by
# scripts/ensure-deps.sh and compose/init.sh (copied into the node image beside it), used by
# compose/build-base.sh.
#
#   softhsm_module [ROOT]   prints the module's path; with ROOT (a root file system being
#                           built), looks under ROOT and prints the path as seen inside it.
#                           Returns 1 and prints nothing when there is none.

softhsm_module_candidates=(
    /usr/lib/softhsm/libsofthsm2.so
    /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so
    /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so
    /usr/local/lib/softhsm/libsofthsm2.so
)

softhsm_module() {
    local root=${1:-} m
    if [[ -z $root && -n ${KMS_PKCS11_MODULE:-} ]]; then
        printf '%s\n' "$KMS_PKCS11_MODULE"
        return 0
    fi
    for m in "${softhsm_module_candidates[@]}"; do
        if [[ -f $root$m ]]; then
            printf '%s\n' "$m"
            return 0
        fi
    done
    return 1
}
