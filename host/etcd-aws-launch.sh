#!/usr/bin/env bash
# etcd-aws launch: writes the member's files and environment file, then brings etcd up the way
# its state asks:
# - data present: restart only when its files changed since etcd started (on this run or on one
#   whose restart was refused), one member at a time (quorum checked first, health awaited after);
# - no data, a running cluster answers: join it (replace a stale entry of the same name, add as
#   learner, start with --initial-cluster-state existing, promote once in sync);
# - no data, no cluster, and called with --bootstrap (first creation only): start the new cluster.
# Without --bootstrap it never forms a second cluster. Running it again changes nothing.
# Usage: launch [--bootstrap]
# Expects the settings of lib/membership.sh and: OTHER_PEER_URLS (the other members' peer URLs),
# DATA_DIR, JOIN_ENV_FILE, RESTART_PENDING, BOOTSTRAP_ARG, BOOTSTRAP_ONLY_VARIABLES (what a
# joining member empties), CA_FILE, PEER_CERT_FILE, PEER_KEY_FILE, CLIENT_CERT_FILE and
# CLIENT_KEY_FILE (empty without TLS); and the function write_member_files, which the rendered
# bundle defines (the member's files as here-documents; a changed file touches RESTART_PENDING).
set -euo pipefail
LOG_TAG=launch
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/membership.sh"
fi
require_settings MEMBER_NAME PEER_URL LOCAL_ENDPOINT PEER_ENDPOINTS LOCK_KEY UNIT WAIT_SECONDS REPORT_EVERY_SECONDS \
    OTHER_PEER_URLS DATA_DIR JOIN_ENV_FILE RESTART_PENDING BOOTSTRAP_ARG BOOTSTRAP_ONLY_VARIABLES \
    CA_FILE PEER_CERT_FILE PEER_KEY_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root DATA_DIR JOIN_ENV_FILE RESTART_PENDING CA_FILE PEER_CERT_FILE PEER_KEY_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

may_bootstrap=no
if [ "${1:-}" = "$BOOTSTRAP_ARG" ]; then may_bootstrap=yes; fi

peer_tls=()
if [ -n "$CA_FILE" ]; then peer_tls=(--cacert "$CA_FILE" --cert "$PEER_CERT_FILE" --key "$PEER_KEY_FILE"); fi

# On first creation: whether this member belongs to the cluster being formed. It asks every
# other member at once for the membership it sees (GET /members on the peer port: etcd serves it
# from its start, before any leader exists, so a forming member answers as fast as a running
# one; a member still waiting for its discovery service accepts but does not answer, hence the
# short limit). True when none answers, or each that does lists this member's peer URL as an
# initial member never started (no client URLs, not a learner: it may start late with the
# bootstrap flags). False when a running cluster does not list it (a member added later) or
# lists an earlier incarnation of it (a replaced host, a learner added before): it joins.
# (HTTP/1.1: over TLS curl would offer HTTP/2, which etcd's peer port breaks off.)
forming_or_waiting() {
    local views other_url view status=0
    views=$(mktemp -d)
    for other_url in ${OTHER_PEER_URLS//,/ }; do
        curl -fsS --http1.1 --max-time 0.5 "${peer_tls[@]}" -o "$views/${other_url//[^a-z0-9]/_}" "$other_url/members" 2>/dev/null &
    done
    wait
    for view in "$views"/*; do
        [ -s "$view" ] || continue
        if ! etcd_json forming "$PEER_URL" <"$view" 2>/dev/null; then
            status=1 # a running cluster: join
            break
        fi
    done
    rm -rf "$views"
    return "$status"
}

# Starts or restarts ($1) etcd, which then runs with the files as written: no restart is owed.
start_etcd() {
    rm -f "$RESTART_PENDING"
    systemctl "$1" --no-block "$UNIT"
}

# "NAME=" for each bootstrap-only variable: a joining member must not use them.
blanked_bootstrap_variables() {
    local name
    for name in $BOOTSTRAP_ONLY_VARIABLES; do
        printf '%s=\n' "$name"
    done
}

# Joins the running cluster as a new member: a stale entry of this name (a replaced host)
# is removed first, the member is added as a learner and promoted once it has caught up.
join_cluster() {
    local list stale added new_member id initial
    list=$(member_list)
    stale=$(etcd_json member-ids any "$MEMBER_NAME" "$PEER_URL" <<<"$list")
    for id in $stale; do
        ensure_quorum_without "$id"
        change_membership remove "$id" >/dev/null
        log "removed stale member $id ($MEMBER_NAME)"
    done
    added=$(change_membership add "$MEMBER_NAME" --peer-urls="$PEER_URL" --learner -w json)
    if ! new_member=$(etcd_json added "$MEMBER_NAME" <<<"$added"); then
        log "could not read the new member's ID and initial cluster from etcdctl's answer:"
        printf '%s\n' "$added" >&2
        exit 1
    fi
    { read -r id; read -r initial; } <<<"$new_member"
    log "added $MEMBER_NAME as learner $id"
    write_if_changed "$JOIN_ENV_FILE" 0640 root:etcd <<JOIN || true
# $MEMBER_NAME joined a running cluster: these override the bootstrap settings in etcd.env.
ETCD_INITIAL_CLUSTER=$initial
ETCD_INITIAL_CLUSTER_STATE=existing
$(blanked_bootstrap_variables)
JOIN
    start_etcd restart
    # Promotion succeeds once the learner has caught up with the leader.
    retry_until "learner $id caught up and promoted" peers member promote "$id"
    log "promoted $MEMBER_NAME ($id) to voting member"
    wait_until_healthy
}

# Restarts this member for its new configuration, once every other member is healthy and, when it
# leads, after leadership moved to a caught-up member (a single member has neither to wait for);
# then holds the lock until it serves again and has caught up with its leader, so the next member's
# restart cannot start early.
restart_member() {
    local own_id started_at
    own_id=$(local_member_id)
    if [ -n "$PEER_ENDPOINTS" ]; then
        ensure_others_healthy "$own_id"
        hand_over_leadership "$own_id"
    fi
    log "configuration changed: restarting etcd"
    started_at=$(etcd_started_at)
    start_etcd restart
    wait_until_restarted "$started_at"
    wait_until_healthy
    wait_until_caught_up
    report_versions "$own_id"
}

# A changed file marks a restart as owed until etcd (re)starts, so a restart that was refused or
# interrupted still happens when the same launch runs again.
write_member_files

systemctl enable --quiet "$UNIT"
if [ -d "$DATA_DIR/member" ]; then
    # An initialised member: bootstrap flags are ignored from now on, as etcd intends. A stopped
    # etcd (a replaced instance on the member's data volume) just starts, with its new files:
    # that takes no other member down, and a restart's check would count this one as unhealthy.
    if ! systemctl is-active --quiet "$UNIT"; then
        log "starting etcd on its existing data"
        start_etcd start
    elif [ -e "$RESTART_PENDING" ]; then
        with_cluster_lock --stopping-own-etcd restart_member
    else
        log "etcd is running with this configuration already"
    fi
elif [ "$may_bootstrap" = yes ] && forming_or_waiting; then
    log "starting etcd: forming the cluster"
    rm -f "$JOIN_ENV_FILE"
    start_etcd restart
elif member_list >/dev/null; then
    log "no local data and the cluster is running: joining it"
    with_cluster_lock join_cluster
else
    log "no local data and no other member answers: refusing to form a second cluster"
    exit 1
fi
