#!/usr/bin/env bash
# etcd-aws space recovery: clears a NOSPACE alarm (the database reached --quota-backend-bytes
# and the cluster accepts no more writes, only reads and deletes). Run it on any member, as root:
#     sudo /usr/local/sbin/etcd-aws-recover-space
# It compacts the history to the current revision (etcdctl compact --physical), defragments
# every member one at a time, followers first and the leader last, each caught up with its
# leader before the next, disarms the alarm (etcdctl alarm disarm) and checks that a write
# (CHECK_KEY) succeeds again. Safe to run again at any point: compacting a compacted revision and
# defragmenting a defragmented member change nothing, and without an alarm it only checks the
# write. It refuses when any other alarm is raised (CORRUPT is no space problem, and disarm would
# clear it too). While NOSPACE is raised no one can take the cluster's lock (a lock is a lease
# and a key, both writes etcd refuses), nor would a launch or the defrag timer: it runs without it.
# If the live data itself fills the quota, the write fails again: delete keys, or give the
# members a larger data volume (the quota follows it).
# Expects: the settings of lib/membership.sh (but PEER_URL and LOCK_KEY), DEFRAG_TIMEOUT_SECONDS,
# CATCH_UP_MARGIN, CHECK_KEY; CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=recover-space
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/membership.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/defrag.sh"
fi
require_settings MEMBER_NAME LOCAL_ENDPOINT PEER_ENDPOINTS UNIT WAIT_SECONDS REPORT_EVERY_SECONDS \
    DEFRAG_TIMEOUT_SECONDS CATCH_UP_MARGIN CHECK_KEY CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

alarms=$(raised_alarms)
others=$(grep -v '^NOSPACE ' <<<"$alarms" || true)
if [ -n "$others" ]; then
    while read -r alarm name id; do
        log "$alarm alarm raised on member $name ($id): not a space problem; this script clears NOSPACE only, and disarming would clear this alarm too"
    done <<<"$others"
    exit 1
fi

# Compacts to the newest revision; etcd answers "required revision has been compacted" when
# that was done already (a run before this one, or automatic compaction).
compact_history() {
    local status revision errors
    status=$(known_members endpoint status -w json 2>/dev/null) || true
    revision=$(etcd_json status-revision <<<"${status:-[]}") || { log "no member answers its status"; return 1; }
    if errors=$(known_members --command-timeout="${DEFRAG_TIMEOUT_SECONDS}s" compact "$revision" --physical 2>&1 >/dev/null); then
        log "compacted the history to revision $revision"
    elif [[ $errors == *"required revision has been compacted"* ]]; then
        log "the history was compacted to revision $revision already"
    else
        log "compaction to revision $revision failed: ${errors##*$'\n'}"
        return 1
    fi
}

if [ -n "$alarms" ]; then
    while read -r alarm name id; do
        log "$alarm alarm raised on member $name ($id)"
    done <<<"$alarms"
    compact_history
    defrag_pass 0 0
    log "defragmented $defragmented member(s)"
    known_members alarm disarm >/dev/null
    log "disarmed the NOSPACE alarm"
else
    log "no alarm raised: nothing to recover"
fi

if ! errors=$(known_members put "$CHECK_KEY" "$(date -u +%Y-%m-%dT%H:%M:%SZ) $MEMBER_NAME" 2>&1 >/dev/null); then
    log "a write still fails: ${errors##*$'\n'}"
    known_members endpoint status --cluster -w table >&2 || true
    log "if the data in use fills the quota, delete keys or give the members a larger data volume (the quota follows it), then run this again"
    exit 1
fi
log "writes work: put $CHECK_KEY"
