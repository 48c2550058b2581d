#!/usr/bin/env bash
# Locate in one large tenant (issue 19's indexed Locate): a release `kmsd dev` whose tenant
# `acme` is filled in stages by `kmsctl bench --workload locate-name` (each stage creates and
# activates LOCATE_STAGE_KEYS keys, each with its own Name and x-bench-tag, then measures Locate
# by the Name of a random key of that stage), then `locate-attr` (Locate by x-bench-tag) and
# `get` on the full tenant, 1000 fresh keys each. One JSON report per run in $WORK. See
# docs/PERFORMANCE.md ("Locate in one large tenant").
#
# Usage: bash scripts/bench-locate.sh
# Environment (defaults): LOCATE_STAGES (4), LOCATE_STAGE_KEYS (250000), LOCATE_CONNECTIONS
#   (32), LOCATE_SECS (10), LOCATE_DIR (a new /tmp/bench-locate.XXXXXX, kept), KMS_PORT
#   (25796), BENCH_NO_BUILD (unset: build release first), CARGO_TARGET_DIR (target).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

STAGES=${LOCATE_STAGES:-4}
STAGE_KEYS=${LOCATE_STAGE_KEYS:-250000}
CONNECTIONS=${LOCATE_CONNECTIONS:-32}
SECS=${LOCATE_SECS:-10}
KMS_PORT=${KMS_PORT:-25796}
TARGET=${CARGO_TARGET_DIR:-target}

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release --locked -p server --bin kmsd -p client --bin kmsctl
fi
KMSD=$TARGET/release/kmsd
KMSCTL=$TARGET/release/kmsctl

WORK=${LOCATE_DIR:-$(mktemp -d /tmp/bench-locate.XXXXXX)}
WORK=$(cd "$WORK" && pwd)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# No object quota, no per-client rate: the tool's connections share one client certificate.
KMSD_LIMITS__CLIENT_REQUESTS_PER_SECOND=0 KMSD_LIMITS__MAX_OBJECTS_PER_TENANT=0 \
    SOFTHSM2_CONF=$WORK/kms/softhsm2.conf KMSD_ADMIN__ENABLED=false \
    "$KMSD" dev --dir "$WORK/kms" --listen "127.0.0.1:$KMS_PORT" >>"$WORK/kmsd.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$KMS_PORT") 2>/dev/null; then break; fi
    sleep 0.1
done

P=$WORK/kms/pki
bench() {
    "$KMSCTL" bench --addr "127.0.0.1:$KMS_PORT" --ca "$P/ca.pem" \
        --cert "$P/clients/acme/vcenter.pem" --key "$P/clients/acme/vcenter.key" \
        --connections "$CONNECTIONS" --duration "${SECS}s" --warmup 2s --json "$@"
}

# "ops/s p50 p99" of a JSON report, and the run's setup time.
summary() {
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
def find(v, k):
    if isinstance(v, dict):
        if k in v: return v[k]
        for x in v.values():
            f = find(x, k)
            if f is not None: return f
    return None
print("ops/s", find(r, "ops_per_sec"), "latency_us", find(r, "latency_us") or find(r, "latency"))' "$1"
}

total=0
for stage in $(seq "$STAGES"); do
    started=$(date +%s)
    bench --workload locate-name --keys "$STAGE_KEYS" >"$WORK/locate-name-$stage.json"
    total=$((total + STAGE_KEYS))
    echo "stage $stage: tenant holds $total keys (setup and run: $(( $(date +%s) - started )) s)"
    summary "$WORK/locate-name-$stage.json"
done
bench --workload locate-attr --keys 1000 >"$WORK/locate-attr.json"
echo "locate-attr, tenant of $((total + 1000)) keys"; summary "$WORK/locate-attr.json"
bench --workload get --keys 1000 >"$WORK/get.json"
echo "get, tenant of $((total + 2000)) keys"; summary "$WORK/get.json"
echo "reports in $WORK"
