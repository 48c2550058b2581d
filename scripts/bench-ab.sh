#!/usr/bin/env bash
# Alternates two (or more) kmsd binaries on one workload, a fresh `kmsd dev` per run, so that
# a before/after comparison is not skewed by the machine's drift:
#   bash scripts/bench-ab.sh get 3 /tmp/kmsd-old target/release/kmsd
# Workloads: those of `kmsctl bench` (vcenter runs with resumption on). BENCH_TLS (1.3),
# BENCH_CONNECTIONS (32), BENCH_DURATION (10s) change the run; KMSCTL the load tool
# (target/release/kmsctl). Prints one line per run: binary, ops/s, p50 and p99 in µs, errors,
# server CPU per operation in µs and the machine's idle share (from the load tool's report).
set -euo pipefail
WORKLOAD=$1 ROUNDS=$2
shift 2
KMSCTL=${KMSCTL:-target/release/kmsctl}
PORT=${KMS_PORT:-25696}
DIR=$(mktemp -d /tmp/bench-ab.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT
extra=()
if [ "$WORKLOAD" = vcenter ]; then extra=(--resumption on); fi
for _ in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        rm -rf "$DIR/kms"
        # The load tool sends from one certificate far above the per-client rate limit
        # (limits.client_requests_per_second), and a create run makes ~100k keys in one tenant:
        # lift both limits on binaries that have them, so that every binary is measured on the
        # same request path, not on its refusals.
        limits=()
        if grep -qa client_requests_per_second "$bin"; then
            limits=(KMSD_LIMITS__CLIENT_REQUESTS_PER_SECOND=0 KMSD_LIMITS__MAX_OBJECTS_PER_TENANT=0)
        fi
        env "${limits[@]}" SOFTHSM2_CONF=$DIR/kms/softhsm2.conf KMSD_ADMIN__LISTEN=127.0.0.1:$((PORT + 1)) \
            "$bin" dev --dir "$DIR/kms" --listen "127.0.0.1:$PORT" >"$DIR/kmsd.log" 2>&1 &
        PID=$!
        for _ in $(seq 300); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
            sleep 0.1
        done
        P=$DIR/kms/pki
        "$KMSCTL" bench --addr "127.0.0.1:$PORT" --server-name 127.0.0.1 --ca "$P/ca.pem" \
            --cert "$P/clients/acme/vcenter.pem" --key "$P/clients/acme/vcenter.key" \
            --tls "${BENCH_TLS:-1.3}" --connections "${BENCH_CONNECTIONS:-32}" \
            --duration "${BENCH_DURATION:-10s}" --warmup 2s --keys 1000 --json \
            --workload "$WORKLOAD" "${extra[@]}" 2>/dev/null >"$DIR/report.json" || true
        python3 - "$bin" "$DIR/report.json" <<'PY'
import json, sys
bin, path = sys.argv[1], sys.argv[2]
try:
    d = json.load(open(path))
    l = d["latency_us"]
    cpu = d.get("cpu") or {}
    server = cpu.get("server_us_per_op")
    idle = cpu.get("machine_idle_share")
    print(bin, round(d["ops_per_sec"]), l["p50"], l["p99"], d["errors"],
          "-" if server is None else round(server, 1),
          "-" if idle is None else f"{idle:.0%}")
except Exception as e:
    print(bin, "no report:", e)
PY
        kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
    done
done
