#!/usr/bin/env bash
# End-to-end test of the three-AZ Compose cluster, on real containers:
#   1. build the base image if missing (root), the binaries (release, or
#      KMS_CARGO_PROFILE=dev) and the node image;
#   2. init (PKI, three SoftHSM2 tokens, key ceremony; a second init is a no-op); start az1,
#      az2, az3 and wait until each is ready (/readyz); form the cluster with the bootstrap
#      service (and check a second bootstrap is a no-op); all three report the same
#      incarnation, three voters and one leader;
#   3. on az1: tenants acme and globex and their clients over the admin API, then vCenter's
#      flow over KMIP 1.1 (Create with the x-Product attributes, Get Attributes, Get, State,
#      Activate); the same key (UID, bytes, attributes) from az2 and az3; globex sees nothing;
#      the same Root of Trust KCV on all three;
#   4. the platform layer (docs/PLATFORM.md): the operator enrolls the three platform services,
#      each of which then acts with its own certificate and only its calls (the backup service
#      is refused a subscription); the console subscribes acme, a VM is refused then found
#      eligible, vCenter's KEK for it in the registry of another AZ, Global Mirror refused,
#      the KEK held by a backup set, revoked, and its destroy refused on another AZ;
#   5. stop the leader's container; the survivors answer that the backup set is restorable;
#      keep creating keys through the two others and reading them back through the other
#      survivor (the election time is printed); restart it, wait until all three report the
#      same state digest at the same applied index, and read from it every key made while it
#      was down; release the hold and destroy the KEK with a 2 s destroy grace: pending, then
#      erased by the cluster's time-driven task (polled until erased);
#   6. remove a follower from the cluster and check its ID is refused when added again.
# Everything is torn down on exit. Timings are printed at the end.
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
# Keys written while the leader is down, and how long the survivors may take to do it.
outage_keys=${KMS_TEST_OUTAGE_KEYS:-10}
outage_secs=60
# Bound on waiting for readiness, a new leader, and catch-up after the restart.
ready_secs=120
leader_secs=30
catchup_secs=60

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
        # The last lines of each node, without the heartbeat warnings a stopped peer causes.
        echo "--- last container logs ---" >&2
        "${compose[@]}" logs --no-color --tail 150 2>&1 | grep -v 'failed to send a heartbeat' |
            awk '{ n[$1]++; line[$1, n[$1]] = $0 } END { for (c in n) for (i = (n[c] > 30 ? n[c] - 29 : 1); i <= n[c]; i++) print line[c, i] }' >&2 || true
    fi
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$clients" "$work"
    exit "$status"
}
trap cleanup EXIT

t0=$SECONDS
# --- build ------------------------------------------------------------------------------
if ! docker image inspect "${KMS_BASE_IMAGE:-kms-base:bookworm}" >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] ||
        skip "the base image ${KMS_BASE_IMAGE:-kms-base:bookworm} is missing and only root can build it (debootstrap): run compose/build-base.sh as root once"
    say "base image missing: building it (compose/build-base.sh)"
    bash "$here/build-base.sh"
fi
bash "$here/build-image.sh"
kmsctl=$target/$([[ ${KMS_CARGO_PROFILE:-release} == dev ]] && echo debug || echo release)/kmsctl
[[ -x $kmsctl ]] || fail "$kmsctl missing after the build"
t_build=$((SECONDS - t0))
say "images built ($t_build s)"

# --- init -------------------------------------------------------------------------------
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true # leftovers of a killed run
started=1
t=$SECONDS
init_out=$(quiet "${compose[@]}" run --rm init) || {
    echo "$init_out" >&2
    fail "init failed"
}
echo "$init_out"
kcv=$(sed -n 's/^init: done: three nodes share the Root of Trust KCV \([0-9A-Fa-f]*\);.*/\1/p' <<<"$init_out")
[[ -n $kcv ]] || fail "init did not report the shared KCV"
for f in ca.pem operator-admin.pem operator-admin.key kmip-client-acme-vcenter.pem kmip-client-globex-vcenter.key \
    platform-service-console.pem platform-service-backup.key platform-service-replication.pem; do
    [[ -s $clients/$f ]] || fail "init did not export $f"
done
# Running init again is a no-op.
again=$(quiet "${compose[@]}" run --rm init) || fail "a second init failed"
grep -q "already initialised" <<<"$again" || fail "a second init did not recognise the finished one: $again"
t_init=$((SECONDS - t))

# --- start and wait for readiness ----------------------------------------------------------
kmip_port=([1]=${KMS_AZ1_KMIP_PORT:-5696} [2]=${KMS_AZ2_KMIP_PORT:-15696} [3]=${KMS_AZ3_KMIP_PORT:-25696})
admin_port=([1]=${KMS_AZ1_ADMIN_PORT:-5697} [2]=${KMS_AZ2_ADMIN_PORT:-15697} [3]=${KMS_AZ3_ADMIN_PORT:-25697})
operator() {
    local i=$1
    shift
    "$kmsctl" "$@" --admin-addr "127.0.0.1:${admin_port[$i]}" --ca "$clients/ca.pem" \
        --cert "$clients/operator-admin.pem" --key "$clients/operator-admin.key" --timeout 10
}
# A platform service (console, backup or replication) with its own certificate.
service() {
    local name=$1 i=$2
    shift 2
    "$kmsctl" "$@" --admin-addr "127.0.0.1:${admin_port[$i]}" --ca "$clients/ca.pem" \
        --cert "$clients/platform-service-$name.pem" --key "$clients/platform-service-$name.key" --timeout 10
}
# KMIP 1.1, as vCenter speaks it.
tenant_client() {
    local i=$1 tenant=$2
    shift 2
    "$kmsctl" "$@" --addr "127.0.0.1:${kmip_port[$i]}" --ca "$clients/ca.pem" --protocol 1.1 \
        --cert "$clients/kmip-client-$tenant-vcenter.pem" --key "$clients/kmip-client-$tenant-vcenter.key" --timeout 10
}
running() { [[ $(docker inspect -f '{{.State.Running}}' "$("${compose[@]}" ps -q "az$1")") == true ]]; }
wait_ready() {
    local i=$1 deadline=$((SECONDS + ready_secs))
    # A bound on waiting, not a speed assertion: a node that never gets ready fails here.
    until operator "$i" health >/dev/null 2>&1; do
        running "$i" || fail "az$i exited before it was ready"
        ((SECONDS < deadline)) || fail "az$i was not ready after $ready_secs s"
        sleep 1
    done
}
# A top-level field of `kmsctl ... --json` output (pretty-printed: two-space indent), unquoted.
field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" <<<"$2" | head -n 1; }
# `applied digest` of node $1 (empty when its admin API does not answer).
digest_of() {
    local out
    out=$(operator "$1" cluster digest --json 2>/dev/null) || return 0
    echo "$(field applied "$out") $(field digest "$out")"
}

# Waits (at most $2 s) until the nodes $3... report the same applied index and state digest;
# leaves it in $digest. Fails naming what differed.
digest=
same_digest() {
    local what=$1 secs=$2 deadline i d line
    shift 2
    deadline=$((SECONDS + secs))
    while :; do
        digest= line=
        for i in "$@"; do
            d=$(digest_of "$i")
            line+=" az$i '$d'"
            if [[ -z ${d% *} || (-n $digest && $d != "$digest") ]]; then digest=mismatch; fi
            [[ $digest == mismatch ]] || digest=$d
        done
        [[ $digest != mismatch ]] && return 0
        ((SECONDS < deadline)) || fail "$what: state digests still differ after $secs s:$line"
        sleep 0.5
    done
}

quiet "${compose[@]}" up -d az1 az2 az3 >/dev/null
for i in 1 2 3; do wait_ready "$i"; done
say "az1 az2 az3 ready (not clustered yet)"

# --- form the cluster ---------------------------------------------------------------------
t=$SECONDS
boot_out=$(quiet "${compose[@]}" run --rm bootstrap) || {
    echo "$boot_out" >&2
    fail "bootstrap failed"
}
echo "$boot_out"
t_bootstrap=$((SECONDS - t))
again=$(quiet "${compose[@]}" run --rm bootstrap) || fail "a second bootstrap failed: $again"
grep -q "az1 already belongs to a cluster" <<<"$again" && grep -q "az3 already a member" <<<"$again" ||
    fail "a second bootstrap did not leave the cluster alone: $again"
incarnation=
for i in 1 2 3; do
    status=$(operator "$i" cluster status --json) || fail "az$i: cluster status"
    inc=$(field incarnation "$status")
    [[ -n $inc ]] || fail "az$i belongs to no cluster after bootstrap: $status"
    [[ -z $incarnation || $inc == "$incarnation" ]] || fail "az$i is in cluster $inc, az1 in $incarnation"
    incarnation=$inc
    voters=$(grep -c '"voter": true' <<<"$status" || true)
    [[ $voters -eq 3 ]] || fail "az$i sees $voters voters, expected 3: $status"
done
leader=$(field leader "$(operator 1 cluster status --json)")
[[ $leader =~ ^[123]$ ]] || fail "no leader after bootstrap (leader '$leader')"
same_digest "after bootstrap" 10 1 2 3
say "cluster formed in $t_bootstrap s: incarnation $incarnation, 3 voters, leader az$leader, state digest ${digest#* } at index ${digest% *} on all three"

# --- tenants and the vCenter flow on az1 ----------------------------------------------------
operator 1 tenant create acme >/dev/null || fail "az1: tenant create acme"
operator 1 tenant create globex >/dev/null || fail "az1: tenant create globex"
operator 1 client enroll --tenant acme --name vcenter >/dev/null || fail "az1: enroll acme/vcenter"
operator 1 client enroll --tenant globex --name vcenter >/dev/null || fail "az1: enroll globex/vcenter"
# Replicated: the operator sees the tenant on az3's admin API.
quiet operator 3 tenant show acme >/dev/null || fail "az3 does not know tenant acme created on az1"

# Create (Pre-Active, AES-256) with the attributes vCenter adds right after, as vCenter's
# step 3 + 5 (kmsctl sends them in the template; the Add Attribute message itself is
# covered by tests/tests/it/vmware.rs).
uid=$(tenant_client 1 acme key create --alg aes --bits 256 --name compose-vcenter \
    --attr "x-Product_Version=7.0.3 build-19480866" --attr "x-Vendor=VMware, Inc." \
    --attr "x-Product=VMware vSphere") || fail "az1: KMIP Create"
[[ -n $uid ]] || fail "az1: Create printed no UID"
attrs=$(tenant_client 1 acme key attrs "$uid") || fail "az1: KMIP Get Attributes"
grep -q "x-Vendor *VMware, Inc." <<<"$attrs" || fail "az1: x-Vendor missing: $attrs"
grep -Eq "^State +Pre-?Active" <<<"$attrs" || fail "az1: a new key is not Pre-Active: $attrs"
quiet tenant_client 1 acme key get "$uid" --out "$work/key-1.bin" >/dev/null || fail "az1: KMIP Get"
[[ $(stat -c %s "$work/key-1.bin") -eq 32 ]] || fail "az1: Get returned $(stat -c %s "$work/key-1.bin") bytes, expected 32"
quiet tenant_client 1 acme key activate "$uid" >/dev/null || fail "az1: KMIP Activate"
grep -Eq "^State +Active" <<<"$(tenant_client 1 acme key attrs "$uid")" || fail "az1: not Active after Activate"
say "az1: vCenter flow over KMIP 1.1: key $uid created, tagged, read (32 bytes), activated"

# The same key from az2 and az3: same UID, same bytes, same attributes and state.
for i in 2 3; do
    quiet tenant_client "$i" acme key get "$uid" --out "$work/key-$i.bin" >/dev/null || fail "az$i: KMIP Get of $uid"
    cmp -s "$work/key-1.bin" "$work/key-$i.bin" || fail "az$i: key $uid has other bytes than on az1"
    attrs=$(tenant_client "$i" acme key attrs "$uid") || fail "az$i: KMIP Get Attributes"
    grep -q "x-Product *VMware vSphere" <<<"$attrs" || fail "az$i: x-Product missing: $attrs"
    grep -Eq "^State +Active" <<<"$attrs" || fail "az$i: key $uid not Active: $attrs"
    tenant_client "$i" acme key locate --name compose-vcenter | grep -qx "$uid" ||
        fail "az$i: Locate by name did not find $uid"
    # Another tenant's client sees nothing (exit 3: not found).
    set +e
    tenant_client "$i" globex key get "$uid" >/dev/null 2>&1
    status=$?
    set -e
    [[ $status -eq 3 ]] || fail "az$i: globex got acme's key (exit $status, expected 3: not found)"
done
same_digest "after the vCenter flow" 10 1 2 3
say "az2 az3: key $uid with the same bytes, attributes and state; invisible to globex; same state digest at index ${digest% *}"

for i in 1 2 3; do
    node_kcv=$(operator "$i" node status --json | sed -n 's/.*"root_kcv": *"\([0-9A-Fa-f]*\)".*/\1/p')
    [[ $node_kcv == "$kcv" ]] || fail "az$i reports Root of Trust KCV '$node_kcv', the ceremony made $kcv"
done
say "az1 az2 az3 report the Root of Trust KCV $kcv"

# --- the platform layer ------------------------------------------------------------------------
for service in console backup replication; do
    quiet operator 1 platform enroll "$service" >/dev/null || fail "az1: platform enroll $service"
done
# Each service acts with its own certificate, allowed only its calls.
set +e
denied=$(service backup 1 policy set --tenant acme --advanced-protection on 2>&1)
status=$?
set -e
[[ $status -eq 4 ]] || fail "az1: the backup service subscribed a tenant (exit $status, expected 4): $denied"
vm_base=(vm check --tenant acme --vm-id uuid-compose-vm --vm-name compose-vm)
vm_check=("${vm_base[@]}" --vcenter vcenter)
# Each prerequisite fails alone, with its code: no subscription yet, then (subscribed) an
# unknown key provider, Global Mirror, a powered-on VM, snapshots; then two at once.
refused() { # node, expected code, vCenter, other vm check arguments
    local i=$1 code=$2 vcenter=$3
    shift 3
    set +e
    local out
    out=$(service console "$i" "${vm_base[@]}" --vcenter "$vcenter" "$@" 2>&1)
    local st=$?
    set -e
    [[ $st -eq 1 ]] && grep -q "$code" <<<"$out" || fail "az$i: the VM check did not fail with $code (exit $st): $out"
}
refused 3 subscription_missing vcenter --power-state powered-off
quiet service console 1 policy set --tenant acme --advanced-protection on >/dev/null || fail "az1: the console subscribes acme"
refused 2 key_provider_not_configured no-such-vcenter --power-state powered-off
refused 3 global_mirror_replication vcenter --power-state powered-off --replication global-mirror
refused 2 vm_powered_on vcenter --power-state powered-on
refused 3 snapshots_present vcenter --power-state powered-off --snapshots 2
set +e
verdict=$(service console 2 "${vm_check[@]}" --power-state powered-on --snapshots 1 2>&1)
status=$?
set -e
[[ $status -eq 1 ]] || fail "az2: a powered-on VM with a snapshot was not refused (exit $status): $verdict"
grep -q vm_powered_on <<<"$verdict" && grep -q snapshots_present <<<"$verdict" ||
    fail "az2: the refusal does not name both prerequisites: $verdict"
quiet service console 2 "${vm_check[@]}" --power-state powered-off >/dev/null || fail "az2: a ready VM is not eligible"
kek=$(tenant_client 1 acme key create --alg aes --bits 256 --attr "x-Component=Virtual Machine"     --attr "x-Identifier=uuid-compose-vm" --attr "x-Name=compose-vm" --activate) || fail "az1: the VM's KEK"
service console 3 vm list --tenant acme | grep -q "$kek" || fail "az3: the registry does not show the VM's KEK $kek"
set +e
gm=$(service replication 3 replication check --tenant acme --mode global-mirror uuid-compose-vm 2>&1)
status=$?
set -e
[[ $status -eq 1 ]] && grep -q encrypted_vm_global_mirror <<<"$gm" ||
    fail "az3: Global Mirror was not refused for the encrypted VM (exit $status): $gm"
quiet service backup 1 hold place --tenant acme --backup-set compose-bs --until 2100-01-01T00:00:00Z "$kek" >/dev/null ||
    fail "az1: hold on $kek"
quiet tenant_client 2 acme key revoke "$kek" >/dev/null || fail "az2: revoke of the held KEK"
set +e
tenant_client 3 acme key destroy "$kek" >/dev/null 2>&1
status=$?
set -e
[[ $status -eq 4 ]] || fail "az3: the held KEK was not refused its destroy (exit $status, expected 4: permission denied)"
say "platform: services enrolled and each acting with its own certificate (backup refused a subscription), acme subscribed by the console, VM refused then eligible, KEK $kek in the registry, Global Mirror refused, held, revoked, its destroy refused"

# --- the leader goes down -------------------------------------------------------------------
leader=$(field leader "$(operator 1 cluster status --json)")
[[ $leader =~ ^[123]$ ]] || fail "no leader known to az1 (leader '$leader')"
survivors=()
for i in 1 2 3; do [[ $i == "$leader" ]] || survivors+=("$i"); done
t=$SECONDS
quiet "${compose[@]}" stop "az$leader" >/dev/null
t_stop=$((SECONDS - t))
stopped_at=$(date +%s%N)
say "az$leader (leader) stopped ($t_stop s); writing through az${survivors[0]} and az${survivors[1]}"

# A new leader among the survivors, as they see it.
new_leader=
deadline=$((SECONDS + leader_secs))
while :; do
    new_leader=$(field leader "$(operator "${survivors[0]}" cluster status --json 2>/dev/null || true)")
    [[ -n $new_leader && $new_leader != "$leader" && $new_leader != null ]] && break
    ((SECONDS < deadline)) || fail "no new leader $leader_secs s after az$leader stopped"
    sleep 0.1
done
election_ms=$((($(date +%s%N) - stopped_at) / 1000000))
say "az$new_leader leads ${election_ms} ms after the stop returned"
# The backup made while az$leader led is restorable from the other AZs.
for i in "${survivors[@]}"; do
    grep -q '"restorable": true' <<<"$(service backup "$i" hold show --tenant acme compose-bs 2>&1)" ||
        fail "az$i: backup set compose-bs is not restorable with az$leader down"
done
say "az${survivors[0]} az${survivors[1]}: backup set compose-bs restorable with az$leader down"

# Keys created through one survivor and read back through the other, alternating.
declare -a outage_uids=()
attempts=0 failures=0 late_failures=0 first_ok_ms=
deadline=$((SECONDS + outage_secs))
while ((${#outage_uids[@]} < outage_keys)); do
    ((SECONDS < deadline)) || fail "only ${#outage_uids[@]} of $outage_keys keys written in $outage_secs s with az$leader down ($failures failed attempts)"
    w=${survivors[$((attempts % 2))]} r=${survivors[$(((attempts + 1) % 2))]}
    attempts=$((attempts + 1))
    n=${#outage_uids[@]}
    if k=$(tenant_client "$w" acme key create --name "compose-outage-$n" --activate 2>"$work/stderr") &&
        [[ -n $k ]] &&
        tenant_client "$r" acme key get "$k" --out "$work/outage-$n.bin" >/dev/null 2>>"$work/stderr"; then
        outage_uids+=("$k")
        [[ -n $first_ok_ms ]] || first_ok_ms=$((($(date +%s%N) - stopped_at) / 1000000))
    else
        failures=$((failures + 1))
        # Once a write went through, the survivors have a leader: nothing may fail any more.
        if [[ -n $first_ok_ms ]]; then
            late_failures=$((late_failures + 1))
            echo "compose/test.sh: attempt $attempts (write az$w, read az$r) failed after the election: $(tr '\n' ' ' <"$work/stderr")" >&2
        fi
        rm -f "$work/outage-$n.bin"
        sleep 0.2
    fi
done
say "az$leader down: ${#outage_uids[@]} keys written and read back in $attempts attempts ($failures failed; first success ${first_ok_ms} ms after the stop)"
((late_failures == 0)) || fail "$late_failures writes or reads failed after the survivors had elected a leader"
same_digest "survivors, az$leader down" 10 "${survivors[@]}"
say "az${survivors[0]} az${survivors[1]}: same state digest at index ${digest% *}"

# --- it comes back and catches up ------------------------------------------------------------
t=$SECONDS
quiet "${compose[@]}" start "az$leader" >/dev/null
wait_ready "$leader"
same_digest "az$leader restarted" "$catchup_secs" 1 2 3
t_catchup=$((SECONDS - t))
say "az$leader restarted and caught up in $t_catchup s: applied index ${digest% *}, state digest ${digest#* } on all three"
role=$(field role "$(operator "$leader" cluster status --json)")
[[ $role == follower ]] || fail "az$leader is '$role' after rejoining, expected follower"
for n in "${!outage_uids[@]}"; do
    quiet tenant_client "$leader" acme key get "${outage_uids[$n]}" --out "$work/back-$n.bin" >/dev/null ||
        fail "az$leader: Get of ${outage_uids[$n]} (written while it was down)"
    cmp -s "$work/outage-$n.bin" "$work/back-$n.bin" || fail "az$leader: ${outage_uids[$n]} has other bytes"
done
quiet tenant_client "$leader" acme key get "$uid" --out "$work/key-again.bin" >/dev/null || fail "az$leader: Get of $uid after the restart"
cmp -s "$work/key-1.bin" "$work/key-again.bin" || fail "az$leader: key $uid changed across the restart"
say "az$leader serves the ${#outage_uids[@]} keys written while it was down, and $uid unchanged"
quiet service backup 1 hold release --tenant acme compose-bs >/dev/null || fail "az1: release of compose-bs"
# Two-stage destroy: with a 2 s grace the destroy is pending (Destroyed for KMIP, material kept,
# cancellable), then the leader's time-driven task erases the material on every node.
quiet operator 1 policy set --tenant acme --destroy-grace-secs 2 >/dev/null || fail "az1: destroy grace of acme"
quiet tenant_client 2 acme key destroy "$kek" >/dev/null || fail "az2: destroy of $kek once released"
grep -q '"erase_at"' <<<"$(operator 3 key-admin show --tenant acme "$kek" --json 2>&1)" ||
    fail "az3: $kek is not pending destruction after a destroy with a grace"
erased=""
for _ in $(seq 1 60); do
    shown=$(operator 3 key-admin show --tenant acme "$kek" --json 2>&1) || fail "az3: show $kek: $shown"
    if ! grep -q '"erase_at"' <<<"$shown" && grep -q '"domain_key_version": null' <<<"$shown"; then
        erased=yes
        break
    fi
    sleep 0.5
done
[[ -n $erased ]] || fail "az3: the material of $kek was not erased after its grace: $shown"
operator 1 events --tenant acme | grep -q "\"key_erased\".*$kek\|$kek.*\"key_erased\"" ||
    fail "az1: no key_erased event for $kek"
say "platform: hold released, KEK $kek destroy pending, then its material erased by the cluster after the 2 s grace"
# The auditor's view: every node's trail exported and verified offline; the story's steps are
# in it (the verdicts where they were asked, the replicated writes on every node).
for i in 1 2 3; do
    dir="$work/audit-az$i"
    quiet operator "$i" audit export --out "$dir" >/dev/null || fail "az$i: audit export"
    report=$("$kmsctl" audit verify --dir "$dir" --json 2>&1) || fail "az$i: the exported trail does not verify: $report"
    grep -q '"clean": true' <<<"$report" || fail "az$i: audit verify is not clean: $report"
    # Replicated changes are recorded on every node: the hold, its release, the KEK's writes.
    for step in 'POST /v1/tenants/{tenant}/holds' 'DELETE /v1/tenants/{tenant}/holds/{set}' "$kek"; do
        grep -qF "$step" "$dir/records.jsonl" || fail "az$i: the trail has no record of '$step'"
    done
done
grep -q "vm:uuid-compose-vm" "$work/audit-az2/records.jsonl" || fail "az2: the eligibility verdicts it gave are not in its trail"
grep -q "not eligible" "$work/audit-az2/records.jsonl" || fail "az2: no refusal verdict in its trail"
say "audit: the three trails verify offline and hold the story (verdicts, hold, destroy, erase)"

# --- removing a node --------------------------------------------------------------------------
# A follower (removing the leader works too, but then the next call waits for an election).
leader=$(field leader "$(operator 1 cluster status --json)")
[[ $leader =~ ^[123]$ ]] || fail "no leader known to az1 before remove-node (leader '$leader')"
gone=3
[[ $leader != 3 ]] || gone=2
quiet operator 1 cluster remove-node "$gone" >/dev/null || fail "cluster remove-node $gone"
status=$(operator "$leader" cluster status --json)
members=$(grep -c '"raft_addr"' <<<"$status" || true)
[[ $members -eq 2 ]] || fail "after remove-node $gone az$leader lists $members members, expected 2: $status"
set +e
refusal=$(operator "$leader" cluster add-node "az$gone:5698" 2>&1)
status=$?
set -e
[[ $status -ne 0 ]] || fail "az$gone (removed) was added again"
grep -q "never reused" <<<"$refusal" || fail "adding the removed az$gone again failed for another reason: $refusal"
for i in 1 2 3; do
    [[ $i == "$gone" ]] && continue
    quiet tenant_client "$i" acme key get "$uid" --out "$work/key-two-$i.bin" >/dev/null || fail "az$i: Get with two members"
done
say "az$gone removed: two members left, serving; its ID is refused when added again"

total=$((SECONDS - t0))
say "timings: build $t_build s, init $t_init s, bootstrap $t_bootstrap s, leader stop $t_stop s, election ${election_ms} ms, first write after the stop ${first_ok_ms} ms, catch-up after restart $t_catchup s, total $total s"
say "PASS ($total s)"
