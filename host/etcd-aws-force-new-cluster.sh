#!/usr/bin/env bash
# etcd-aws quorum recovery: when most members are lost for good (their hosts or data gone, so the
# cluster has no quorum and accepts no write) and THIS member survives, makes it a one-member
# cluster on its own data, every key it holds kept. Run it on that one member only, as root:
#     sudo /usr/local/sbin/etcd-aws-force-new-cluster --discard-other-members
# It refuses while any member answers a health check (the cluster has quorum: replace the lost
# members with `pulumi up` instead) and when this member has no data. It stops etcd, copies its
# data directory aside (DATA_DIR.before-force-new-cluster-<UTC timestamp>), starts etcd once with
# --force-new-cluster (a systemd drop-in setting ETCD_FORCE_NEW_CLUSTER), waits until it is
# healthy and the only voting member, then removes the drop-in and restarts etcd as usual: left in
# place, the flag would cut the cluster down to this member again at its next restart. It prints
# the revision it kept: when the newest backup's (its name ends -rev<revision>.db) is higher,
# restoring that backup (etcd-aws-restore) loses less. The other members then join as new ones:
# each member's launch on a host without data joins the running cluster (a replaced instance and
# data volume, or the data directory moved aside). Running it again after it succeeded changes
# nothing; after an interruption it goes on where it stopped.
# Expects: the settings of lib/membership.sh (its lock is not taken: without quorum no lock can
# be), DATA_DIR, DROP_IN_FILE, MARKER_FILE; CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty
# without TLS).
set -euo pipefail
LOG_TAG=force-new-cluster
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/membership.sh"
fi
require_settings MEMBER_NAME LOCAL_ENDPOINT PEER_ENDPOINTS UNIT WAIT_SECONDS REPORT_EVERY_SECONDS DATA_DIR \
    DROP_IN_FILE MARKER_FILE CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root DATA_DIR DROP_IN_FILE MARKER_FILE CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

if [ "$#" -ne 1 ] || [ "$1" != --discard-other-members ]; then
    log "usage: etcd-aws-force-new-cluster --discard-other-members (this member's data becomes a one-member cluster; the other members' data is given up)"
    exit 2
fi
DROP_IN=$DROP_IN_FILE
MARKER=$MARKER_FILE

# The voting members other than this one that this member's etcd lists (etcdctl's JSON).
other_voters() {
    local own list
    own=$(local_member_id)
    [ -n "$own" ] || return 1
    list=$(etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s member list -w json) || return 1
    etcd_json voters "$own" <<<"$list"
}

# Succeeds when this member is healthy and lists no other voting member.
alone_and_healthy() {
    local others
    local_health >/dev/null 2>&1 || return 1
    others=$(other_voters) || return 1
    [ -z "$others" ]
}

if [ ! -e "$DROP_IN" ]; then
    if [ -e "$MARKER" ] && alone_and_healthy; then
        log "$MEMBER_NAME was made a one-member cluster already ($(cat "$MARKER"))"
        exit 0
    fi
    # A health check needs a quorum read: any member that passes it belongs to a cluster that
    # still has quorum, which must not be split.
    for endpoint in $LOCAL_ENDPOINT ${PEER_ENDPOINTS//,/ }; do
        if etcdctl --endpoints "$endpoint" --command-timeout=3s endpoint health >/dev/null 2>&1; then
            log "$endpoint is healthy: the cluster has quorum; replace the lost members with pulumi up instead"
            exit 1
        fi
    done
    if [ ! -d "$DATA_DIR/member" ]; then
        log "no data in $DATA_DIR: nothing to keep; restore the newest backup (etcd-aws-restore) instead"
        exit 1
    fi
    log "no member answers a health check: stopping etcd and keeping a copy of its data"
    systemctl stop "$UNIT"
    copy="$DATA_DIR.before-force-new-cluster-$(date -u +%Y%m%dT%H%M%SZ)"
    needed=$(du -sb "$DATA_DIR" | cut -f1)
    room=$(df --output=avail -B1 "${DATA_DIR%/*}" | tail -1)
    if [ "$needed" -ge "$room" ]; then
        log "the copy of $DATA_DIR needs $needed bytes, ${DATA_DIR%/*} has $room free: make room (or copy it elsewhere) and run this again"
        systemctl start --no-block "$UNIT"
        exit 1
    fi
    cp -a "$DATA_DIR" "$copy"
    log "copied $DATA_DIR to $copy"
    mkdir -p "${DROP_IN%/*}"
    printf '[Service]\nEnvironment=ETCD_FORCE_NEW_CLUSTER=true\n' >"$DROP_IN"
fi

log "starting etcd once with --force-new-cluster"
systemctl daemon-reload
systemctl restart --no-block "$UNIT"
retry_until "$MEMBER_NAME healthy and the only voting member" alone_and_healthy
rm -f "$DROP_IN"
systemctl daemon-reload
log "restarting etcd without --force-new-cluster"
forced_start=$(etcd_started_at)
systemctl restart --no-block "$UNIT"
wait_until_restarted "$forced_start"
retry_until "$MEMBER_NAME healthy and the only voting member" alone_and_healthy
status=$(etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s endpoint status -w json)
revision=$(etcd_json status-revision <<<"$status")
date -u +"%Y-%m-%dT%H:%M:%SZ revision $revision" >"$MARKER"
log "$MEMBER_NAME is a one-member cluster at revision $revision; the other members join it when their launch runs on a host without data"
