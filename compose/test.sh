#!/usr/bin/env bash
# End-to-end test of the three-AZ Compose deployment, on real containers:
#   build the base image if missing (root), the release binaries and the node image; run init
#   (PKI, three SoftHSM2 tokens, key ceremony); start az1, az2, az3; wait until each is
#   ready (/readyz); on each node create a tenant and enroll its client over the admin API,
#   create a key over KMIP and get it back; check another tenant cannot see it; check that
#   all three nodes report the Root of Trust KCV the ceremony produced; restart az1 and get the
#   key again (the volumes keep token and store). Everything is torn down on exit.
#
#   bash compose/test.sh
#
# Prints SKIP and exits 0 when Docker (or Compose) is not usable; exits non-zero on any
# failure. Uses its own Compose project (KMS_TEST_PROJECT, default kmstest) and the ports of
# docker-compose.yml (override with KMS_AZ{1,2,3}_{KMIP,ADMIN}_PORT when they are taken).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
target=${CARGO_TARGET_DIR:-$repo/target}

say() { echo "compose/test.sh: $*"; }
fail() {
    echo "compose/test.sh: FAIL: $*" >&2
    exit 1
}
skip() {
    echo "SKIP: compose/test.sh: $*"
    exit 0
}

command -v docker >/dev/null 2>&1 || skip "docker is not installed"
docker info >/dev/null 2>&1 || skip "the Docker engine is not reachable (not running, or no permission)"
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    skip "neither 'docker compose' nor 'docker-compose' is installed"
fi

export COMPOSE_PROJECT_NAME=${KMS_TEST_PROJECT:-kmstest}
export COMPOSE_FILE=$here/docker-compose.yml
export KMS_IMAGE=${KMS_IMAGE:-kms:local}
clients=$(mktemp -d "${TMPDIR:-/tmp}/kms-compose-clients.XXXXXX")
export KMS_CLIENT_DIR=$clients KMS_EXPORT_UID=$(id -u) KMS_EXPORT_GID=$(id -g)
export KMS_TENANT_CLIENTS="acme/vcenter globex/vcenter"
work=$(mktemp -d "${TMPDIR:-/tmp}/kms-compose-test.XXXXXX")
started=0

# Runs a command with its stderr kept aside, shown only when it fails.
quiet() {
    "$@" 2>"$work/stderr" || {
        local status=$?
        cat "$work/stderr" >&2
        return "$status"
    }
}

cleanup() {
    local status=$?
    if [[ $status -ne 0 && $started -eq 1 ]]; then
        echo "--- last container logs ---" >&2
        "${compose[@]}" logs --no-color --tail 40 >&2 || true
    fi
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$clients" "$work"
    exit "$status"
}
trap cleanup EXIT

t0=$SECONDS
# --- build ------------------------------------------------------------------------------
if ! docker image inspect "${KMS_BASE_IMAGE:-kms-base:bookworm}" >/dev/null 2>&1; then
    say "base image missing: building it (compose/build-base.sh)"
    bash "$here/build-base.sh"
fi
bash "$here/build-image.sh"
kmsctl=$target/release/kmsctl
[[ -x $kmsctl ]] || fail "$kmsctl missing after the build"
say "images built ($((SECONDS - t0)) s)"

# --- init -------------------------------------------------------------------------------
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true # leftovers of a killed run
started=1
init_out=$(quiet "${compose[@]}" run --rm init) || {
    echo "$init_out" >&2
    fail "init failed"
}
echo "$init_out"
kcv=$(sed -n 's/^init: done: three nodes share the Root of Trust KCV \([0-9A-Fa-f]*\);.*/\1/p' <<<"$init_out")
[[ -n $kcv ]] || fail "init did not report the shared KCV"
for f in ca.pem operator-admin.pem operator-admin.key kmip-client-acme-vcenter.pem kmip-client-globex-vcenter.key; do
    [[ -s $clients/$f ]] || fail "init did not export $f"
done
# Running init again is a no-op.
again=$(quiet "${compose[@]}" run --rm init) || fail "a second init failed"
grep -q "already initialised" <<<"$again" || fail "a second init did not recognise the finished one: $again"

# --- start and wait for readiness ----------------------------------------------------------
quiet "${compose[@]}" up -d az1 az2 az3 >/dev/null
kmip_port=([1]=${KMS_AZ1_KMIP_PORT:-5696} [2]=${KMS_AZ2_KMIP_PORT:-15696} [3]=${KMS_AZ3_KMIP_PORT:-25696})
admin_port=([1]=${KMS_AZ1_ADMIN_PORT:-5697} [2]=${KMS_AZ2_ADMIN_PORT:-15697} [3]=${KMS_AZ3_ADMIN_PORT:-25697})
operator() {
    local i=$1
    shift
    "$kmsctl" "$@" --admin-addr "127.0.0.1:${admin_port[$i]}" --ca "$clients/ca.pem" \
        --cert "$clients/operator-admin.pem" --key "$clients/operator-admin.key" --timeout 10
}
tenant_client() {
    local i=$1 tenant=$2
    shift 2
    "$kmsctl" "$@" --addr "127.0.0.1:${kmip_port[$i]}" --ca "$clients/ca.pem" \
        --cert "$clients/kmip-client-$tenant-vcenter.pem" --key "$clients/kmip-client-$tenant-vcenter.key" --timeout 10
}
wait_ready() {
    local i=$1 tries
    # A bound on waiting, not a speed assertion: a node that never gets ready fails here.
    for ((tries = 0; tries < 120; tries++)); do
        if operator "$i" health >/dev/null 2>&1; then
            return 0
        fi
        [[ $(docker inspect -f '{{.State.Running}}' "$("${compose[@]}" ps -q "az$i")") == true ]] ||
            fail "az$i exited before it was ready"
        sleep 1
    done
    fail "az$i was not ready after 120 tries"
}
for i in 1 2 3; do wait_ready "$i"; done
say "az1 az2 az3 ready"

# --- smoke flow on every node (each a standalone node today) --------------------------------
declare -A uid
for i in 1 2 3; do
    # TODO(issue 6): with replication the tenant and its client are created once, on any node.
    operator "$i" tenant create acme >/dev/null || fail "az$i: tenant create acme"
    operator "$i" tenant create globex >/dev/null || fail "az$i: tenant create globex"
    operator "$i" client enroll --tenant acme --name vcenter >/dev/null || fail "az$i: enroll acme/vcenter"
    operator "$i" client enroll --tenant globex --name vcenter >/dev/null || fail "az$i: enroll globex/vcenter"

    uid[$i]=$(tenant_client "$i" acme key create --alg aes --bits 256 --name "compose-smoke-$i" --activate) ||
        fail "az$i: KMIP Create"
    [[ -n ${uid[$i]} ]] || fail "az$i: Create printed no UID"
    quiet tenant_client "$i" acme key get "${uid[$i]}" --out "$work/key-$i.bin" >/dev/null || fail "az$i: KMIP Get"
    [[ $(stat -c %s "$work/key-$i.bin") -eq 32 ]] || fail "az$i: Get returned $(stat -c %s "$work/key-$i.bin") bytes, expected 32"
    tenant_client "$i" acme key locate --name "compose-smoke-$i" | grep -qx "${uid[$i]}" ||
        fail "az$i: Locate by name did not find ${uid[$i]}"
    # Another tenant's client sees nothing (exit 3: not found).
    set +e
    tenant_client "$i" globex key get "${uid[$i]}" >/dev/null 2>&1
    status=$?
    set -e
    [[ $status -eq 3 ]] || fail "az$i: globex got acme's key (exit $status, expected 3: not found)"
    say "az$i: tenant acme, key ${uid[$i]} created and read back over KMIP; invisible to globex"
done

# --- the same Root of Trust on every node ----------------------------------------------------
for i in 1 2 3; do
    node_kcv=$(operator "$i" node status --json | sed -n 's/.*"root_kcv": *"\([0-9A-Fa-f]*\)".*/\1/p')
    [[ $node_kcv == "$kcv" ]] || fail "az$i reports Root of Trust KCV '$node_kcv', the ceremony made $kcv"
    token_kcv=$("${compose[@]}" exec -T "az$i" kmsd ceremony status -c /etc/kms/kmsd.toml | sed -n 's/^KCV: //p')
    [[ $token_kcv == "$kcv" ]] || fail "az$i's token reports KCV '$token_kcv', expected $kcv"
done
say "az1 az2 az3 report the same Root of Trust KCV $kcv (admin API and token)"

# --- restart: token and store survive in the volumes ------------------------------------------
quiet "${compose[@]}" restart az1 >/dev/null
wait_ready 1
quiet tenant_client 1 acme key get "${uid[1]}" --out "$work/key-1-again.bin" >/dev/null || fail "az1: Get after restart"
cmp -s "$work/key-1.bin" "$work/key-1-again.bin" || fail "az1: the key changed across a restart"
say "az1 restarted: key ${uid[1]} unchanged"

# --- waits for replication ------------------------------------------------------------------
# TODO(issue 6): once the nodes form one cluster:
#   - create the tenant and key once (on az1), then Get the SAME UID from az2 and az3 and
#     compare the bytes;
#   - stop the leader (`compose stop <leader>`), check a write still succeeds on the other
#     two (majority) and reads keep working;
#   - start it again and check it catches up (Get the key written while it was down);
#   - check a node whose token holds a different Root of Trust refuses to serve.
say "TODO(issue 6): cross-node read, leader stop and catch-up not run (replication not built yet)"

say "PASS ($((SECONDS - t0)) s)"
