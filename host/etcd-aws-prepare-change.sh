#!/usr/bin/env bash
# etcd-aws prepare change: runs on a member that stays (the first) before any step of a deployment
# that stops, replaces, removes or re-versions a member, and fails the deployment, so that nothing
# is stopped, when it cannot do its part:
# 1. a snapshot of the cluster (`etcdctl snapshot save` from one answering member), checked with
#    `snapshot status` (etcdutl; etcdctl on 3.4), kept on the data volume in SNAPSHOT_DIR as
#    <UTC timestamp>-rev<revision>.db (the newest KEEP_SNAPSHOTS only), and uploaded with the
#    backup script (BACKUP_COMMAND) when backups are configured;
# 2. when TARGET_VERSION is older than the newest release a member runs (3.6 and later): the
#    downgrade API's `downgrade validate` and `downgrade enable` of its line, then a bounded wait
#    until every member's storage version is on that line (the downgrade is cancelled if it does not
#    get there); a downgrade enabled earlier that TARGET_VERSION no longer asks for is cancelled.
# The members then roll to TARGET_VERSION through their install and launch, one at a time.
# A member without etcd data, where no member answers, is a cluster not formed yet: nothing to do.
# Expects: CLUSTER_NAME, LOCAL_ENDPOINT (this member's client URL), PEER_ENDPOINTS (the other
# members' client URLs, comma-separated), DATA_DIR, TARGET_VERSION, SNAPSHOT_DIR, KEEP_SNAPSHOTS,
# DOWNGRADE_WAIT_SECONDS, BACKUP_COMMAND (empty without backups), CHANGE (what the deployment
# changes, for the log); CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=prepare-change
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/s3.sh"
fi
require_settings CLUSTER_NAME LOCAL_ENDPOINT PEER_ENDPOINTS DATA_DIR TARGET_VERSION SNAPSHOT_DIR KEEP_SNAPSHOTS \
    DOWNGRADE_WAIT_SECONDS BACKUP_COMMAND CHANGE CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root DATA_DIR SNAPSHOT_DIR CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

# Room a snapshot must leave on the data volume besides itself: a defragmentation's copy of the
# database, and the write-ahead log's next segment.
readonly WAL_ROOM_BYTES=$((64 * 1024 * 1024))

log "before: $CHANGE"

# The first member that answers a health check, this one first; empty when none does.
answering_endpoint() {
    local endpoint
    for endpoint in "$LOCAL_ENDPOINT" ${PEER_ENDPOINTS//,/ }; do
        if etcdctl --endpoints "$endpoint" --command-timeout=5s endpoint health >/dev/null 2>&1; then
            printf '%s\n' "$endpoint"
            return 0
        fi
    done
}

ENDPOINT=$(answering_endpoint)
if [ -z "$ENDPOINT" ]; then
    if [ ! -d "$DATA_DIR/member" ]; then
        log "no member answers and $DATA_DIR holds no etcd data: the cluster has not formed yet, nothing to save"
        exit 0
    fi
    log "no member of $CLUSTER_NAME answers ($LOCAL_ENDPOINT,$PEER_ENDPOINTS): refusing to change a cluster that is down"
    exit 1
fi

# The status (JSON) of every member that answers, found through the member list of the one that
# answered (etcdctl lists those that answer and fails for the others: a member down is left out).
cluster_status() {
    etcdctl --endpoints "$ENDPOINT" --command-timeout=10s endpoint status --cluster -w json 2>/dev/null || true
}

# Deletes this script's snapshots (named by it) but the newest $1.
keep_newest() {
    local keep=$1 old
    while read -r old; do
        rm -f "$old"
        log "deleted the older pre-change snapshot $old"
    done < <(find "$SNAPSHOT_DIR" -maxdepth 1 -name '*T*Z-rev*.db' | sort -r | tail -n "+$((keep + 1))")
}

# Saves and checks a snapshot into SNAPSHOT_DIR; prints its path.
save_snapshot() {
    local largest free partial status hash revision keys size saved
    install -d -m 0700 "$SNAPSHOT_DIR"
    keep_newest "$((KEEP_SNAPSHOTS - 1))"
    largest=$(cluster_status | etcd_json largest-db) || { log "the members' database sizes do not read"; return 1; }
    free=$(df --output=avail -B1 "$SNAPSHOT_DIR" | tail -1)
    if [ "$free" -lt $((2 * largest + WAL_ROOM_BYTES)) ]; then
        keep_newest 0
        free=$(df --output=avail -B1 "$SNAPSHOT_DIR" | tail -1)
    fi
    if [ "$free" -lt $((2 * largest + WAL_ROOM_BYTES)) ]; then
        log "$SNAPSHOT_DIR has $free bytes free: a snapshot of the $largest-byte database needs $((2 * largest + WAL_ROOM_BYTES)) (itself, room for a defragmentation and the log); free space on the data volume or grow volumeSizeGiB by hand first"
        return 1
    fi
    partial=$(mktemp "$SNAPSHOT_DIR/partial.XXXXXX")
    # shellcheck disable=SC2064 # (the path is known now)
    trap "rm -f '$partial' '$partial.part'" EXIT
    etcdctl --endpoints "$ENDPOINT" --command-timeout=600s snapshot save "$partial" >/dev/null 2>&1 ||
        { log "etcdctl snapshot save from $ENDPOINT failed into $SNAPSHOT_DIR"; return 1; }
    status=$("$(snapshot_tool)" snapshot status "$partial" -w json 2>/dev/null) ||
        { log "the snapshot just taken does not read back (snapshot status failed)"; return 1; }
    read -r hash revision keys size < <(etcd_json snapshot-status <<<"$status")
    saved="$SNAPSHOT_DIR/$(date -u +%Y%m%dT%H%M%SZ)-rev$revision.db"
    mv -f "$partial" "$saved"
    chmod 0600 "$saved"
    log "saved $saved from $ENDPOINT: revision $revision, $keys keys, $size bytes, hash $hash"
    printf '%s\n' "$saved"
}

# etcdctl downgrade SUBCOMMAND [LINE] against the answering member (its answer only in the log).
downgrade() {
    etcdctl --endpoints "$ENDPOINT" --command-timeout=30s downgrade "$@" >&2
}

# Until every member's storage version is on $1 (or DOWNGRADE_WAIT_SECONDS pass).
wait_for_storage() {
    local line=$1 behind deadline=$((SECONDS + DOWNGRADE_WAIT_SECONDS))
    until behind=$(cluster_status | etcd_json storage-at "$line"); do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "after $DOWNGRADE_WAIT_SECONDS s these members' storage version is not $line yet: ${behind//$'\n'/; }"
            return 1
        fi
        sleep 1
    done
    log "every member's storage version is $line"
}

# What the downgrade API needs before the members run TARGET_VERSION.
prepare_version() {
    local action line
    action=$(cluster_status | etcd_json downgrade-action "$TARGET_VERSION") ||
        { log "the members' versions do not read"; return 1; }
    line=${action#* }
    case $action in
    none) ;;
    cancel)
        log "a downgrade is enabled, but $TARGET_VERSION is not older than the members' release: cancelling it"
        downgrade cancel
        ;;
    unsupported*)
        log "$TARGET_VERSION is older than the members' release, which has no downgrade API (3.6 and later)"
        return 1
        ;;
    downgrade*)
        downgrade validate "$line" || { log "etcd refuses a downgrade to $line"; return 1; }
        downgrade enable "$line"
        log "downgrade to $line enabled"
        wait_for_storage "$line" || { log "cancelling the downgrade"; downgrade cancel || true; return 1; }
        ;;
    wait*)
        log "a downgrade to $line is enabled already"
        wait_for_storage "$line" || { log "cancelling the downgrade"; downgrade cancel || true; return 1; }
        ;;
    esac
}

save_snapshot
if [ -n "$BACKUP_COMMAND" ] && [ ! -x "$ETCD_AWS_ROOT$BACKUP_COMMAND" ]; then
    # Backups were just turned on: this deployment's launches install the backup script.
    log "backups are not installed on this member yet ($BACKUP_COMMAND): the snapshot stays on the member"
elif [ -n "$BACKUP_COMMAND" ]; then
    "$ETCD_AWS_ROOT$BACKUP_COMMAND" --now >/dev/null || { log "the backup before the change was NOT uploaded"; exit 1; }
fi
prepare_version
