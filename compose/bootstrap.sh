#!/usr/bin/env bash
# Forms the Raft cluster of az1, az2, az3 once they run. Runs inside the one-shot `bootstrap`
# service of docker-compose.yml, on the nodes' private network, as the operator (the client
# bundle init exported, mounted read-only at /clients):
#
#   docker-compose run --rm bootstrap
#
# 1. waits (bounded) until the admin API of each node answers;
# 2. `kmsctl cluster init` on az1 unless it already belongs to a cluster;
# 3. `kmsctl cluster add-node azN:5698` for az2 and az3 unless they already belong to one
#    (sent to az1; forwarded to the leader if az1 does not lead); each new node first
#    catches up as a learner, then becomes a voter. A node whose Root of Trust differs is
#    refused by the leader;
# 4. prints `kmsctl cluster status`.
#
# Idempotent: a node that already belongs to a cluster is left alone, so running it again
# after a restart is harmless. The same commands by hand, from the host: compose/README.md.
set -euo pipefail

clients=${KMS_BOOTSTRAP_CLIENTS:-/clients}
operator=${KMS_OPERATOR:-admin}
first=${KMS_BOOTSTRAP_FIRST:-az1}
others=${KMS_BOOTSTRAP_OTHERS:-az2 az3}
admin_port=5697
raft_port=5698
wait_secs=${KMS_BOOTSTRAP_WAIT:-90}

say() { echo "bootstrap: $*"; }
die() {
    echo "bootstrap: $*" >&2
    exit 1
}

for f in ca.pem "operator-$operator.pem" "operator-$operator.key"; do
    [[ -r $clients/$f ]] || die "$clients/$f is missing or unreadable (run init first; it exports the client bundle)"
done
# The operator's credentials; stderr is kept for the failures that matter.
op() {
    local node=$1
    shift
    kmsctl "$@" --admin-addr "$node:$admin_port" --ca "$clients/ca.pem" \
        --cert "$clients/operator-$operator.pem" --key "$clients/operator-$operator.key" --timeout 10
}
# The cluster incarnation ID a node reports, empty while it belongs to no cluster.
incarnation() {
    local status
    status=$(op "$1" cluster status --json) || die "$1: kmsctl cluster status failed"
    sed -n 's/^  "incarnation": "\([^"]*\)",\{0,1\}$/\1/p' <<<"$status"
}

for node in "$first" $others; do
    deadline=$((SECONDS + wait_secs))
    until op "$node" health >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$node: admin API not ready after ${wait_secs} s (docker-compose ps; docker-compose logs $node)"
        sleep 1
    done
done
say "admin API ready on $first $others"

cluster=$(incarnation "$first")
if [[ -n $cluster ]]; then
    say "$first already belongs to a cluster: not initialised again"
else
    op "$first" cluster init >/dev/null || die "$first: kmsctl cluster init failed"
    cluster=$(incarnation "$first")
    [[ -n $cluster ]] || die "$first reports no incarnation after init"
    say "$first: one-voter cluster initialised (incarnation $cluster)"
fi

for node in $others; do
    theirs=$(incarnation "$node")
    if [[ $theirs == "$cluster" ]]; then
        say "$node already a member"
        continue
    fi
    [[ -z $theirs ]] || die "$node belongs to another cluster ($theirs); wipe its data volume first"
    # Returns once the node caught up as a learner and was made a voter.
    op "$first" cluster add-node "$node:$raft_port" >/dev/null || die "$node: kmsctl cluster add-node $node:$raft_port failed"
    say "$node added (learner, caught up, now a voter)"
done

op "$first" cluster status
say "done: cluster of $first $others"
