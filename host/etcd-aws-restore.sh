#!/usr/bin/env bash
# etcd-aws restore: makes THIS member a member of a NEW cluster built from a backup:
#   etcd-aws-restore s3://BUCKET/KEY --discard-current-data
# Reads the backup's metadata (a HEAD request), downloads the snapshot and refuses it unless its SHA-256 and snapshot status (hash, revision)
# match what the backup recorded in its metadata: a corrupted or truncated file stops here,
# before etcd is stopped or its data touched. Then stops etcd, moves its data directory aside
# (DATA_DIR.before-restore-<UTC timestamp>), restores the snapshot into DATA_DIR with this
# member's name and peer URL, INITIAL_CLUSTER and the new CLUSTER_TOKEN (revisions bumped by
# BUMP_REVISION and marked compacted where the release can, so watchers are told to start over),
# and starts etcd. Run it on every member with the same URI and token; each waits for the others.
# Running it again after it succeeded changes nothing.
# Expects: the settings of lib/s3.sh, MEMBER_NAME, PEER_URL, INITIAL_CLUSTER, CLUSTER_TOKEN,
# DATA_DIR, UNIT, BUMP_REVISION, MEMORY_DIR and BACKUP_DIR (scratch space for the download, lib/s3.sh
# scratch_dir).
set -euo pipefail
LOG_TAG=restore
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/s3.sh"
fi
require_settings MEMBER_NAME PEER_URL INITIAL_CLUSTER CLUSTER_TOKEN DATA_DIR UNIT BUMP_REVISION MEMORY_DIR BACKUP_DIR \
    S3_ENDPOINT S3_REGION CREDENTIALS IMDS_URL S3_CA_PEM
under_root DATA_DIR MEMORY_DIR BACKUP_DIR

if [ "$#" -ne 2 ] || [[ $1 != s3://*/* ]] || [ "$2" != --discard-current-data ]; then
    log "usage: etcd-aws-restore s3://BUCKET/KEY --discard-current-data (the member's current data is replaced)"
    exit 2
fi
URI=$1
S3_BUCKET=${URI#s3://}
S3_BUCKET=${S3_BUCKET%%/*}
KEY=${URI#s3://"$S3_BUCKET"/}
# What a finished restore leaves beside the data: the same run again finds it and stops.
MARKER="$DATA_DIR.restored"
if [ -d "$DATA_DIR/member" ] && [ "$(cat "$MARKER" 2>/dev/null)" = "$URI $CLUSTER_TOKEN" ]; then
    log "$MEMBER_NAME was restored from $URI (token $CLUSTER_TOKEN) already"
    exit 0
fi

TOOL=$(snapshot_tool)

# The header's value (last one, case as S3 may change it) from curl's dump of the headers.
header() {
    tr -d '\r' <"$answer_headers" | awk -v name="$1" 'tolower($1) == tolower(name) ":" { value = $2 } END { print value }'
}

# The checks, every one before etcd is touched.
refuse() {
    log "refusing $URI: $*; $MEMBER_NAME's etcd and data are untouched"
    exit 1
}
answer_headers=$(mktemp)
trap 'rm -f "$answer_headers"' EXIT
s3_request HEAD "$KEY" /dev/null - -I -D "$answer_headers" || { log "could not read $URI"; exit 1; }
recorded_sha256=$(header x-amz-meta-sha256)
recorded_hash=$(header x-amz-meta-etcd-hash)
recorded_revision=$(header x-amz-meta-etcd-revision)
if [ -z "$recorded_sha256" ] || [ -z "$recorded_revision" ]; then
    refuse "it carries no etcd-aws backup metadata"
fi
snapshot=$(mktemp "$(scratch_dir "$(header content-length)")/etcd-aws-restore.XXXXXX")
trap 'rm -f "$snapshot" "$answer_headers" "$snapshot.sha256"' EXIT
s3_request GET "$KEY" "$snapshot" - || { log "could not download $URI"; exit 1; }
# Both checks read the whole file: side by side, the second read comes from the page cache.
sha256sum "$snapshot" >"$snapshot.sha256" &
hashing=$!
status=$("$TOOL" snapshot status "$snapshot" -w json 2>&1) || status_failed=$status
wait "$hashing"
actual_sha256=$(cut -d' ' -f1 "$snapshot.sha256")
[ "$actual_sha256" = "$recorded_sha256" ] ||
    refuse "its SHA-256 is $actual_sha256, the backup recorded $recorded_sha256 ($(stat -c %s "$snapshot") bytes: corrupted or truncated)"
[ -z "${status_failed:-}" ] || refuse "snapshot status fails: ${status_failed##*$'\n'}"
read -r hash revision keys _ < <(etcd_json snapshot-status <<<"$status") || refuse "snapshot status gave no status"
if [ "$hash" != "$recorded_hash" ] || [ "$revision" != "$recorded_revision" ]; then
    refuse "its status (hash $hash, revision $revision) is not the recorded one (hash $recorded_hash, revision $recorded_revision)"
fi
log "$URI checked: revision $revision, $keys keys, hash $hash"

# The file's SHA-256 is the one of the snapshot the backup checked (and etcdctl verified against
# its hash trailer when it saved it): the restore need not read the whole file for that again
# while etcd is down. 3.5.? and later: the bump flags; older releases restore the revision as it was.
restore_flags=(--skip-hash-check)
if [ "$BUMP_REVISION" -gt 0 ] && "$TOOL" snapshot restore --help 2>&1 | grep -q -- --bump-revision; then
    restore_flags+=(--bump-revision "$BUMP_REVISION" --mark-compacted)
fi

systemctl stop "$UNIT"
if [ -e "$DATA_DIR" ]; then
    aside="$DATA_DIR.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$DATA_DIR" "$aside"
    log "moved the data directory aside: $aside (delete it once the restored cluster serves)"
fi
rm -f "$MARKER"
"$TOOL" snapshot restore "$snapshot" --name "$MEMBER_NAME" --initial-cluster "$INITIAL_CLUSTER" \
    --initial-cluster-token "$CLUSTER_TOKEN" --initial-advertise-peer-urls "$PEER_URL" \
    --data-dir "$DATA_DIR" "${restore_flags[@]}" >/dev/null 2>&1 ||
    { log "$TOOL snapshot restore failed; the former data is in ${aside:-(none)}"; exit 1; }
# etcd's user owns the data, as the data volume's mount point.
chown -R "${ETCD_AWS_OWNER:-$(stat -c %U:%G "$(dirname "$DATA_DIR")")}" "$DATA_DIR"
chmod 0700 "$DATA_DIR"
printf '%s %s\n' "$URI" "$CLUSTER_TOKEN" >"$MARKER"
systemctl start "$UNIT"
log "$MEMBER_NAME restored from $URI (revision $revision${restore_flags[1]:+, bumped by $BUMP_REVISION}) as a member of cluster token $CLUSTER_TOKEN; etcd started"
