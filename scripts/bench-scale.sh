#!/usr/bin/env bash
# Scale test (issue 8's memory and restart targets): a release `kmsd dev` gets N tenants, a
# KMIP client in each and K keys per tenant; then the server's memory (VmRSS, VmHWM from
# /proc/<pid>/status) and its restart-to-serving time after SIGTERM and after kill -9 (from
# starting the process until a KMIP Get of a known key succeeds). See docs/PERFORMANCE.md.
#
# Steps: `kmsd dev` in a fresh directory; `kms-certs client` issues one client certificate
# per tenant from the dev CA; `kmsctl bench populate` creates the tenants and enrolls the
# clients over the admin API (the dev operator certificate) and creates the keys over KMIP,
# SCALE_CONNECTIONS tenants at a time; `kmsctl bench ready` polls the Get.
#
# Usage: bash scripts/bench-scale.sh        (target: SCALE_TENANTS=1000 SCALE_KEYS=1000)
# Environment (defaults): SCALE_TENANTS (1000), SCALE_KEYS (1000), SCALE_CONNECTIONS (32),
#   SCALE_DIR (a new /tmp/bench-scale.XXXXXX, kept: it holds the data; delete it yourself),
#   KMS_PORT (25696), KMS_ADMIN_PORT (25697), BENCH_NO_BUILD (unset: build release first).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

TENANTS=${SCALE_TENANTS:-1000}
KEYS=${SCALE_KEYS:-1000}
CONNECTIONS=${SCALE_CONNECTIONS:-32}
KMS_PORT=${KMS_PORT:-25696}
KMS_ADMIN_PORT=${KMS_ADMIN_PORT:-25697}
TARGET=${CARGO_TARGET_DIR:-target}

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release --locked -p server --bin kmsd -p client --bin kmsctl \
        -p certs --bin kms-certs
fi
KMSD=$TARGET/release/kmsd
KMSCTL=$TARGET/release/kmsctl
CERTS=$TARGET/release/kms-certs

WORK=${SCALE_DIR:-$(mktemp -d /tmp/bench-scale.XXXXXX)}
WORK=$(cd "$WORK" && pwd)
PKI=$WORK/kms/pki
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Starts kmsd dev on $WORK/kms in the background; sets PID. SOFTHSM2_CONF is set up front so
# that the process started is the server itself (`kmsd dev` re-executes itself otherwise).
start_kmsd() {
    KMSD_LIMITS__CLIENT_REQUESTS_PER_SECOND=0 KMSD_LIMITS__MAX_OBJECTS_PER_TENANT=0 SOFTHSM2_CONF=$WORK/kms/softhsm2.conf KMSD_ADMIN__LISTEN=127.0.0.1:$KMS_ADMIN_PORT \
        "$KMSD" dev --dir "$WORK/kms" --listen "127.0.0.1:$KMS_PORT" >>"$WORK/kmsd.log" 2>&1 &
    PID=$!
}

wait_port() {
    for _ in $(seq 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1 after 60 s (see $WORK/kmsd.log)" >&2
    return 1
}

# "VmRSS VmHWM" of the server, in kB.
memory() {
    awk '/^VmRSS:/ {rss=$2} /^VmHWM:/ {hwm=$2} END {print rss, hwm}' "/proc/$PID/status"
}

# The value of a top-level JSON field path (python3 -c, no jq needed).
json_field() {
    python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$1" "$2"
}

now_ns() { date +%s%N; }

# Stops the server with signal $1, starts it again and waits for the known key's Get; sets
# RESTART_MS to the milliseconds from the start of the process to the Get's answer. (Not
# called in $(...): the new server must be this shell's child, PID set here.)
restart_with() {
    kill "-$1" "$PID"
    wait "$PID" 2>/dev/null || true
    local t0 t1
    t0=$(now_ns)
    start_kmsd
    "$KMSCTL" bench ready --addr "127.0.0.1:$KMS_PORT" --server-name 127.0.0.1 \
        --ca "$PKI/ca.pem" --cert "$KNOWN_CERT" --key "$KNOWN_KEY" --uid "$KNOWN_UID" \
        --within 120s >"$WORK/ready-$1.json"
    t1=$(now_ns)
    RESTART_MS=$(((t1 - t0) / 1000000))
}

echo "scale test: $TENANTS tenants x $KEYS keys in $WORK" >&2
start_kmsd
wait_port "$KMS_PORT"
wait_port "$KMS_ADMIN_PORT"
read -r rss0 hwm0 <<<"$(memory)"

echo "issuing $TENANTS client certificates" >&2
mkdir -p "$WORK/clients"
for ((i = 0; i < TENANTS; i++)); do
    [ -f "$WORK/clients/kmip-client-scale-$i-bench.pem" ] && continue
    "$CERTS" client --ca-cert "$PKI/ca.pem" --ca-key "$PKI/ca.key" --tenant "scale-$i" \
        --name bench --out-dir "$WORK/clients" >/dev/null
done

echo "populating" >&2
"$KMSCTL" bench populate --addr "127.0.0.1:$KMS_PORT" --admin-addr "127.0.0.1:$KMS_ADMIN_PORT" \
    --server-name 127.0.0.1 --ca "$PKI/ca.pem" \
    --operator-cert "$PKI/admins/operator-admin.pem" --operator-key "$PKI/admins/operator-admin.key" \
    --clients-dir "$WORK/clients" --tenant-prefix scale --tenants "$TENANTS" --keys "$KEYS" \
    --connections "$CONNECTIONS" --json >"$WORK/populate.json"
read -r rss1 hwm1 <<<"$(memory)"
KNOWN_UID=$(json_field "$WORK/populate.json" known_key.uid)
KNOWN_CERT=$(json_field "$WORK/populate.json" known_key.cert)
KNOWN_KEY=$(json_field "$WORK/populate.json" known_key.key)

restart_with TERM
term_ms=$RESTART_MS
read -r rss2 hwm2 <<<"$(memory)"
restart_with KILL
kill_ms=$RESTART_MS
read -r rss3 hwm3 <<<"$(memory)"
data=$(du -sh "$WORK/kms/data" | cut -f1)

echo
echo "$TENANTS tenants x $KEYS keys; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ); data dir $data"
printf 'populate: %s keys in %.1f s (%.0f keys/s, %s tenants at a time)\n' \
    "$(json_field "$WORK/populate.json" keys)" "$(json_field "$WORK/populate.json" secs)" \
    "$(json_field "$WORK/populate.json" keys_per_sec)" "$CONNECTIONS"
echo "| kmsd | VmRSS MB | VmHWM MB |"
echo "|---|---|---|"
echo "| empty, after start | $((rss0 / 1024)) | $((hwm0 / 1024)) |"
echo "| after populate | $((rss1 / 1024)) | $((hwm1 / 1024)) |"
echo "| after SIGTERM restart and one Get | $((rss2 / 1024)) | $((hwm2 / 1024)) |"
echo "| after kill -9 restart and one Get | $((rss3 / 1024)) | $((hwm3 / 1024)) |"
echo "restart-to-serving (process start to a successful KMIP Get): after SIGTERM ${term_ms} ms," \
    "after kill -9 ${kill_ms} ms"
