#!/usr/bin/env bash
# One-shot initialisation of the three AZ nodes az1, az2, az3. Runs inside the `init` service
# of docker-compose.yml (as root, with every node's volumes mounted under /nodes):
#
#   docker-compose run --rm init
#
# 1. PKI with kms-certs: a CA, one server certificate pair per node (SAN urn:kms:node:<id>,
#    hosts azN, localhost, 127.0.0.1, ::1 and $KMS_EXTRA_HOSTS), an operator certificate
#    and the tenant client certificates of $KMS_TENANT_CLIENTS.
# 2. One SoftHSM2 token per node (random user and SO PINs) and the key ceremony of
#    docs/KEY-CEREMONY.md: init-root (exportable) on az1; for az2 and az3 transport-keygen,
#    export-root from az1 and import-root. Each step is its own `kmsd ceremony` process that
#    sees only that node's token. Then `kmsd ceremony status` on all three: same KCV or fail.
# 3. kmsd.toml per node (docs/CONFIGURATION.md), with its [cluster] section (Raft listener on
#    5698), and the operator enrolled in each store. The nodes start unclustered; an operator
#    forms the cluster once (kmsctl cluster init on az1, add-node az2 and az3; README.md).
# 4. Node files handed to the unprivileged `kms` user; the client bundle (CA certificate,
#    operator and tenant client certificates and keys) copied to /export when mounted.
#
# The /ceremony volume stands in for the offline ceremony machine: it keeps the CA key, the
# SO PINs and the full PKI. In production those live offline, not in a Docker volume.
# Idempotent: a finished init is not repeated; a half-finished one is refused (start over
# with `docker-compose down -v`).
set -euo pipefail

nodes=(az1 az2 az3)
root=${KMS_INIT_NODES:-/nodes}
ceremony=${KMS_INIT_CEREMONY:-/ceremony}
export_dir=${KMS_INIT_EXPORT:-/export}
operator=${KMS_OPERATOR:-admin}
tenant_clients=${KMS_TENANT_CLIENTS:-acme/vcenter globex/vcenter}
extra_hosts=${KMS_EXTRA_HOSTS:-}
# The SoftHSM2 module, by the workspace's one lookup (scripts/softhsm-module.sh, copied into
# the image beside this script).
source "$(dirname "${BASH_SOURCE[0]}")/softhsm-module.sh"
module=$(softhsm_module) || {
    echo "init: no SoftHSM2 module in this image" >&2
    exit 1
}
marker=$ceremony/initialised
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# kmsd reads KMSD_<SECTION>__<KEY> overrides; none may leak in from the caller.
unset KMSD_CONFIG KMSD_SO_PIN
# The steps print what matters; their info logs would repeat it.
export RUST_LOG=${KMS_INIT_RUST_LOG:-warn}

say() { echo "init: $*"; }
die() {
    echo "init: $*" >&2
    exit 1
}
random_pin() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
field() { sed -n "s/^$1: //p" <<<"$2" | head -n 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (the init service sets user: root); it hands the files to 'kms' at the end"
[[ -d $ceremony ]] || die "$ceremony is not mounted"
if [[ -e $marker ]]; then
    say "already initialised: $(cat "$marker"); to start over: docker-compose down -v"
    exit 0
fi
for n in "${nodes[@]}"; do
    for d in etc tokens data audit; do
        [[ -d $root/$n/$d ]] || die "$root/$n/$d is not mounted"
        [[ -z $(ls -A "$root/$n/$d") ]] ||
            die "$root/$n/$d is not empty but init never finished; remove the volumes (docker-compose down -v) and run init again"
    done
done
[[ -z $(ls -A "$ceremony") ]] || die "$ceremony is not empty but init never finished; docker-compose down -v, then init again"

# --- 1. PKI -------------------------------------------------------------------------------
umask 077
pki=$ceremony/pki
mkdir -p "$pki/clients"
certs() { kms-certs "$@" --ca-cert "$pki/ca.pem" --ca-key "$pki/ca.key" >/dev/null; }
kms-certs init-ca --ca-cert "$pki/ca.pem" --ca-key "$pki/ca.key" --cn "KMS Compose Root CA" >/dev/null
for i in 1 2 3; do
    n=az$i
    hosts=(--host "$n" --host localhost --host 127.0.0.1 --host ::1)
    for h in $extra_hosts; do hosts+=(--host "$h"); done
    certs node --node-id "$i" "${hosts[@]}" --out-dir "$pki/$n"
    cp "$pki/ca.pem" "$pki/$n"/node-"$i"-* "$root/$n/etc/"
done
certs client --role operator --name "$operator" --out-dir "$pki/clients"
# The platform services (docs/PLATFORM.md): each its own certificate, enrolled by the operator.
for service in console backup replication; do
    certs client --role platform-service --name "$service" --out-dir "$pki/clients"
done
for tc in $tenant_clients; do
    [[ $tc == */* ]] || die "KMS_TENANT_CLIENTS entries are tenant/name, got '$tc'"
    certs client --tenant "${tc%%/*}" --name "${tc#*/}" --out-dir "$pki/clients"
done
say "PKI: CA, node certificates for az1..az3, operator '$operator', platform services console backup replication, clients: $tenant_clients"

# --- 2. Tokens and the key ceremony -------------------------------------------------------
for n in "${nodes[@]}"; do
    random_pin >"$root/$n/etc/hsm-user.pin"
    random_pin >"$ceremony/$n-so.pin"
    printf '%s\n' "directories.tokendir = $root/$n/tokens" 'objectstore.backend = file' \
        'log.level = ERROR' >"$work/$n-softhsm2.conf"
    # The ceremony's view of the token: only [hsm], with this container's paths; the same
    # settings as the node's kmsd.toml below.
    printf '%s\n' '[hsm]' "module = \"$module\"" "token_label = \"kms-$n\"" \
        "pin_file = \"$root/$n/etc/hsm-user.pin\"" 'transport_oaep_hash = "sha1"' \
        >"$work/$n-hsm.toml"
    # softhsm2-util takes the PINs only as arguments: they show in this one-shot container's
    # process list for the length of this call.
    SOFTHSM2_CONF=$work/$n-softhsm2.conf softhsm2-util --init-token --free --label "kms-$n" \
        --so-pin "$(cat "$ceremony/$n-so.pin")" --pin "$(cat "$root/$n/etc/hsm-user.pin")" >/dev/null
done
step() {
    local n=$1 cmd=$2
    shift 2
    SOFTHSM2_CONF=$work/$n-softhsm2.conf kmsd ceremony "$cmd" -c "$work/$n-hsm.toml" "$@"
}

out=$(step az1 init-root --exportable)
kcv=$(field KCV "$out")
[[ -n $kcv ]] || die "init-root printed no KCV: $out"
say "az1: Root of Trust generated (exportable only under SO-trusted keys), KCV $kcv"
for n in az2 az3; do
    out=$(step "$n" transport-keygen --out "$ceremony/$n-transport.pem")
    fingerprint=$(field fingerprint "$out")
    [[ -n $fingerprint ]] || die "$n: transport-keygen printed no fingerprint: $out"
    # In a real ceremony the witness reads this fingerprint off the target's screen.
    step az1 export-root --so-pin-file "$ceremony/az1-so.pin" --transport "$ceremony/$n-transport.pem" \
        --expect-fingerprint "$fingerprint" --out "$ceremony/root-for-$n.json" >/dev/null
    out=$(step "$n" import-root --in "$ceremony/root-for-$n.json")
    [[ $(field KCV "$out") == "$kcv" ]] || die "$n: imported root has KCV $(field KCV "$out"), expected $kcv"
    rm -f "$ceremony/root-for-$n.json" "$ceremony/$n-transport.pem"
    say "$n: Root of Trust imported from az1 (transport key ${fingerprint:0:16}…), KCV $kcv"
done
for n in "${nodes[@]}"; do
    got=$(field KCV "$(step "$n" status)")
    [[ $got == "$kcv" ]] || die "$n: token reports KCV '$got', az1 has $kcv"
done
say "ceremony status: az1 az2 az3 all report KCV $kcv"

# --- 3. Configuration and the first operator -----------------------------------------------
for i in 1 2 3; do
    n=az$i
    cat >"$root/$n/etc/kmsd.toml" <<TOML
# kmsd configuration of node $i ($n), written by compose/init.sh (docs/CONFIGURATION.md).
# Paths in [tls] are relative to this file (/etc/kms in the node's container).

[server]
listen = "0.0.0.0:5696"
node_id = $i
data_dir = "/var/lib/kms/data"

[tls]
client_ca = "ca.pem"
ecdsa_cert = "node-$i-ecdsa-p256.pem"
ecdsa_key = "node-$i-ecdsa-p256.key"
rsa_cert = "node-$i-rsa-2048.pem"
rsa_key = "node-$i-rsa-2048.key"

[hsm]
module = "$module"
token_label = "kms-$n"
pin_file = "/etc/kms/hsm-user.pin"
transport_oaep_hash = "sha1"      # SoftHSM 2.6 implements OAEP with SHA-1 only

[admin]
listen = "0.0.0.0:5697"           # inside the container; docker-compose.yml publishes it on the host's loopback

[audit]
dir = "/var/lib/kms/audit"        # the node's own audit volume
log = "$n"

[cluster]
# Node-to-node (Raft) listener: mutual TLS with the node certificate above ([tls] ecdsa_cert,
# SAN urn:kms:node:$i) and peers' certificates from the same CA. Reached only on the private
# Compose network. The cluster is formed once, by an operator: compose/README.md, Bootstrap.
listen = "0.0.0.0:5698"
advertise = "$n:5698"             # what the other nodes dial
kmip_advertise = "$n:5696"        # where clients reach this node's KMIP (cluster status)
TOML
    # Every node knows the operator before the cluster forms, so that each one's admin API
    # answers (health, cluster status) from the start. When a node joins, the leader's log or
    # snapshot brings it the cluster's records, the operator among them (az1 has it).
    # The enrollment is audited: its record goes to the node's own audit volume (mounted here
    # under $root/$n), where the node finds it when it starts.
    KMSD_SERVER__DATA_DIR=$root/$n/data KMSD_AUDIT__DIR=$root/$n/audit \
        kmsd enroll-operator -c "$root/$n/etc/kmsd.toml" --name "$operator" >/dev/null
done
say "kmsd.toml written and operator '$operator' enrolled on az1 az2 az3"

# --- 4. Ownership and the client bundle ----------------------------------------------------
for n in "${nodes[@]}"; do
    chown -R kms:kms "$root/$n"/{etc,tokens,data,audit}
    chmod 0700 "$root/$n"/{etc,tokens,data,audit}
done
if [[ -d $export_dir ]]; then
    for f in "$pki/ca.pem" "$pki"/clients/*.pem "$pki"/clients/*.key; do
        cp "$f" "$export_dir/"
        chown "${KMS_EXPORT_UID:-0}:${KMS_EXPORT_GID:-0}" "$export_dir/${f##*/}"
    done
    chmod 0644 "$export_dir"/*.pem
    say "client bundle (ca.pem, operator, platform-service and tenant client certificates and keys) in the export directory"
fi
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) KCV $kcv" >"$marker"
say "done: three nodes share the Root of Trust KCV $kcv; start them with: docker-compose up -d, then form the cluster (compose/README.md, Bootstrap)"
