#!/usr/bin/env bash
# kmsd against PyKMIP's server (pip install pykmip), measured with the same tool in the same
# run: `kmsctl bench` runs each workload against both, one after the other, and one table
# compares them (ops/s, p50, p99, p99.9, errors). See docs/PERFORMANCE.md ("Method").
#
# Both servers get a fresh state in a temporary directory: `kmsd dev` (SoftHSM2 token, dev
# PKI, redb store) and `pykmip-server` (sqlite database, no operation policy beyond its
# built-in default: the bench client owns the objects it creates) with the dev PKI's CA and
# ECDSA server certificate. PyKMIP's server speaks TLS 1.2 only (its TLS1.2 auth suite), so
# the comparison runs TLS 1.2 against both unless BENCH_TLS says otherwise.
#
# Usage: bash scripts/bench-pykmip.sh
# Environment (defaults): BENCH_DURATION (10s), BENCH_WARMUP (2s), BENCH_CONNECTIONS (32),
#   BENCH_KEYS (1000), BENCH_TLS (1.2), BENCH_WORKLOADS ("get create mixed locate vcenter
#   vcenter-noresume"), BENCH_SERVERS ("kmsd pykmip"), KMS_PORT (25696), KMS_ADMIN_PORT
#   (25697), PYKMIP_PORT (25699), BENCH_NO_BUILD (unset: build the release binaries first),
#   BENCH_KEEP (unset: delete the temporary directory at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_pykmip

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
KEYS=${BENCH_KEYS:-1000}
TLS=${BENCH_TLS:-1.2}
WORKLOADS=${BENCH_WORKLOADS:-get create mixed locate vcenter vcenter-noresume}
SERVERS=${BENCH_SERVERS:-kmsd pykmip}
KMS_PORT=${KMS_PORT:-25696}
KMS_ADMIN_PORT=${KMS_ADMIN_PORT:-25697}
PYKMIP_PORT=${PYKMIP_PORT:-25699}
TARGET=${CARGO_TARGET_DIR:-target}
VENV_BIN=$(dirname "$KMS_PYTHON")

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release --locked -p server --bin kmsd -p client --bin kmsctl
fi
KMSD=$TARGET/release/kmsd
KMSCTL=$TARGET/release/kmsctl

WORK=$(mktemp -d /tmp/bench-pykmip.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

# Waits until something listens on 127.0.0.1:$1 (or gives up after 60 s).
wait_port() {
    for _ in $(seq 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1 after 60 s" >&2
    return 1
}

# kmsd dev: SOFTHSM2_CONF set up front so that the process started is the server itself
# (otherwise `kmsd dev` re-executes itself with it).
echo "starting kmsd dev in $WORK/kms" >&2
KMSD_LIMITS__CLIENT_REQUESTS_PER_SECOND=0 KMSD_LIMITS__MAX_OBJECTS_PER_TENANT=0 SOFTHSM2_CONF=$WORK/kms/softhsm2.conf KMSD_ADMIN__LISTEN=127.0.0.1:$KMS_ADMIN_PORT \
    "$KMSD" dev --dir "$WORK/kms" --listen "127.0.0.1:$KMS_PORT" >"$WORK/kmsd.log" 2>&1 &
PIDS+=($!)
wait_port "$KMS_PORT"
PKI=$WORK/kms/pki

# PyKMIP's server: configuration file, empty policy directory (built-in default policy),
# sqlite database, all under $WORK/pykmip.
mkdir -p "$WORK/pykmip/policies"
cat >"$WORK/pykmip/server.conf" <<EOF
[server]
hostname=127.0.0.1
port=$PYKMIP_PORT
certificate_path=$PKI/node-1/server-ecdsa.pem
key_path=$PKI/node-1/server-ecdsa.key
ca_path=$PKI/ca.pem
auth_suite=TLS1.2
policy_path=$WORK/pykmip/policies
enable_tls_client_auth=True
logging_level=WARNING
database_path=$WORK/pykmip/pykmip.db
EOF
echo "starting pykmip-server on port $PYKMIP_PORT" >&2
PYTHONWARNINGS=ignore "$VENV_BIN/pykmip-server" -f "$WORK/pykmip/server.conf" \
    -l "$WORK/pykmip/server.log" >"$WORK/pykmip/stdout.log" 2>&1 &
PIDS+=($!)
wait_port "$PYKMIP_PORT"

mkdir -p "$WORK/results"
for workload in $WORKLOADS; do
    case $workload in
        vcenter-noresume) args=(--workload vcenter --resumption off) ;;
        vcenter) args=(--workload vcenter --resumption on) ;;
        *) args=(--workload "$workload") ;;
    esac
    for server in $SERVERS; do
        case $server in
            kmsd) port=$KMS_PORT ;;
            pykmip) port=$PYKMIP_PORT ;;
            *) echo "unknown server $server" >&2; exit 2 ;;
        esac
        echo "== $workload against $server" >&2
        # A workload the server refuses exits non-zero with `unsupported` in its report.
        "$KMSCTL" bench --addr "127.0.0.1:$port" --server-name 127.0.0.1 --ca "$PKI/ca.pem" \
            --cert "$PKI/clients/acme/vcenter.pem" --key "$PKI/clients/acme/vcenter.key" \
            --tls "$TLS" --connections "$CONNECTIONS" --duration "$DURATION" \
            --warmup "$WARMUP" --keys "$KEYS" --json "${args[@]}" \
            >"$WORK/results/$server-$workload.json" || true
    done
done

echo
echo "connections $CONNECTIONS, $DURATION measured after $WARMUP warm-up, TLS $TLS, $KEYS keys," \
    "$(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
"$KMS_PYTHON" - "$WORK/results" "$WORKLOADS" "$SERVERS" <<'EOF'
import json, os, sys
results, workloads, servers = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
ms = lambda us: f"{us / 1000:.2f}"
rows = [("workload", "server", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "notes")]
for w in workloads:
    for s in servers:
        path = os.path.join(results, f"{s}-{w}.json")
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError):
            rows.append((w, s, "-", "-", "-", "-", "-", "no report (see the run's stderr)"))
            continue
        notes = []
        if r.get("unsupported"):
            notes.append("unsupported: " + r["unsupported"])
        if r.get("handshakes"):
            h = r["handshakes"]
            notes.append(f"{h['resumed']} resumed / {h['full']} full handshakes")
        if r.get("error_kinds"):
            notes.append(", ".join(f"{k}: {n}" for k, n in r["error_kinds"].items()))
        notes.append(f"KMIP {r['protocol']}")
        l = r["latency_us"]
        rows.append((w, s, f"{r['ops_per_sec']:.0f}", ms(l["p50"]), ms(l["p99"]), ms(l["p999"]),
                     str(r["errors"]), "; ".join(notes)))
widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for i, row in enumerate(rows):
    print("| " + " | ".join(c.ljust(widths[j]) for j, c in enumerate(row)) + " |")
    if i == 0:
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
EOF
