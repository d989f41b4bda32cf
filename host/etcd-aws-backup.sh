#!/usr/bin/env bash
# etcd-aws backup: takes a snapshot of the cluster from THIS member (`etcdctl snapshot save`),
# checks it (snapshot status: hash, revision, keys) and uploads it to
# s3://S3_BUCKET/S3_PREFIX/CLUSTER_NAME/<UTC timestamp>-rev<revision>.db with its status and
# SHA-256 as object metadata; prints the S3 URI. Every member's timer runs it: under the
# cluster-wide lock LOCK_KEY, the first one of each INTERVAL_SECONDS slot backs up and records the
# slot under SLOT_KEY; the others find it there and do nothing (`--now` backs up all the same).
# Then deletes this cluster's backups older than RETENTION_SECONDS, and nothing else.
# Expects: the settings of lib/membership.sh (but PEER_URL) and lib/s3.sh, CLUSTER_NAME, S3_PREFIX, SLOT_KEY,
# INTERVAL_SECONDS, RETENTION_SECONDS, BACKUP_DIR (scratch space for the snapshot); CA_FILE,
# CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=backup
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/membership.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/s3.sh"
fi
require_settings MEMBER_NAME LOCAL_ENDPOINT PEER_ENDPOINTS LOCK_KEY UNIT WAIT_SECONDS REPORT_EVERY_SECONDS \
    CLUSTER_NAME S3_ENDPOINT S3_REGION S3_BUCKET S3_PREFIX CREDENTIALS IMDS_URL S3_CA_PEM SLOT_KEY INTERVAL_SECONDS \
    RETENTION_SECONDS MEMORY_DIR BACKUP_DIR CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root MEMORY_DIR BACKUP_DIR CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

FORCE=false
case ${1:-} in
--now) FORCE=true ;;
"") ;;
*) log "unknown argument $1 (--now: back up even when this interval has a backup)"; exit 2 ;;
esac

# The cluster's backups: <S3_PREFIX>/<CLUSTER_NAME>/ (an empty prefix puts them at the top).
OBJECT_PREFIX="${S3_PREFIX:+${S3_PREFIX%/}/}$CLUSTER_NAME/"
SLOT=$(($(date -u +%s) / INTERVAL_SECONDS))


# "SLOT URI" of the last backup, empty when none was recorded.
last_backup() {
    etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=5s get "$SLOT_KEY" --print-value-only
}

# Saves, checks and uploads one snapshot; records the slot; prints the URI.
back_up() {
    local last db_size snapshot status hash revision keys size sha256 stamp key
    if ! "$FORCE"; then
        last=$(last_backup)
        if [ -n "$last" ] && [ "${last%% *}" -ge "$SLOT" ]; then
            log "this interval has a backup already: ${last#* }"
            return 0
        fi
    fi
    db_size=$(etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=5s endpoint status -w json | etcd_json largest-db)
    snapshot=$(mktemp "$(scratch_dir "$db_size")/etcd-aws-snapshot.XXXXXX")
    # shellcheck disable=SC2064 # (the path is known now)
    trap "rm -f '$snapshot' '$snapshot.answer' '$snapshot.sha256'" EXIT
    etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=600s snapshot save "$snapshot" >/dev/null
    sha256sum "$snapshot" >"$snapshot.sha256" &
    local hashing=$!
    status=$("$(snapshot_tool)" snapshot status "$snapshot" -w json 2>/dev/null) ||
        { log "the snapshot just taken does not read back (snapshot status failed)"; return 1; }
    read -r hash revision keys size < <(etcd_json snapshot-status <<<"$status")
    wait "$hashing"
    sha256=$(cut -d' ' -f1 "$snapshot.sha256")
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    key="$OBJECT_PREFIX$stamp-rev$revision.db"
    # S3 checks the upload against its SHA-256 (the signed one and the stored checksum; an Object Lock
    # bucket takes no upload without a checksum algorithm or a Content-MD5).
    s3_request PUT "$key" "$snapshot.answer" "$sha256" --upload-file "$snapshot" \
        -H "x-amz-sdk-checksum-algorithm: SHA256" -H "x-amz-checksum-sha256: $(hex_base64 "$sha256")" \
        -H "x-amz-meta-etcd-hash: $hash" -H "x-amz-meta-etcd-revision: $revision" \
        -H "x-amz-meta-etcd-total-keys: $keys" -H "x-amz-meta-etcd-total-size: $size" \
        -H "x-amz-meta-sha256: $sha256" -H "x-amz-meta-etcd-member: $MEMBER_NAME" ||
        { log "the backup of revision $revision was NOT uploaded"; return 1; }
    etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=5s put "$SLOT_KEY" "$SLOT s3://$S3_BUCKET/$key" >/dev/null
    log "uploaded revision $revision ($keys keys, $(stat -c %s "$snapshot") bytes) from $MEMBER_NAME"
    printf 's3://%s/%s\n' "$S3_BUCKET" "$key"
}

# Deletes this cluster's backups named with a timestamp older than RETENTION_SECONDS.
prune() {
    local before answer token="-" query expired key deleted=0
    before=$(date -u -d "@$(($(date -u +%s) - RETENTION_SECONDS))" +%Y%m%dT%H%M%SZ)
    answer=$(mktemp)
    while true; do
        # (The prefix as it is: curl encodes the query for its signature as S3 does.)
        query="?list-type=2&prefix=$OBJECT_PREFIX"
        [ "$token" = - ] || query+="&continuation-token=$token"
        s3_request GET "$query" "$answer" - || { rm -f "$answer"; return 1; }
        mapfile -t expired < <(etcd_json s3-expired "$OBJECT_PREFIX" "$before" <"$answer")
        token=${expired[0]:--}
        for key in "${expired[@]:1}"; do
            s3_request DELETE "$key" /dev/null - || { rm -f "$answer"; return 1; }
            deleted=$((deleted + 1))
        done
        [ "$token" != - ] || break
    done
    rm -f "$answer"
    log "retention: deleted $deleted backup(s) of $CLUSTER_NAME taken before $before"
}

with_cluster_lock back_up
prune
