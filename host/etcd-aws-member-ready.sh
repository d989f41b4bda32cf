#!/usr/bin/env bash
# etcd-aws member ready: after a member's launch (first or on a replaced instance), waits until
# THIS member is a started voting member (not a learner), answers a health check and has caught
# up: its applied raft index at most CATCH_UP_MARGIN behind its leader's. The next member of a
# roll waits for it, so at most one member is down or behind at a time. Otherwise fails after
# TIMEOUT_SECONDS with the member list, the members' status and etcd's last log lines.
# Expects: MEMBER_NAME, PEER_URL, LOCAL_ENDPOINT (this member's client URL), PEER_ENDPOINTS (the
# other members' client URLs, comma-separated; empty for a single member), TIMEOUT_SECONDS,
# CATCH_UP_MARGIN (raft entries), REPORT_EVERY_SECONDS, UNIT; CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=ready
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings MEMBER_NAME PEER_URL LOCAL_ENDPOINT PEER_ENDPOINTS TIMEOUT_SECONDS CATCH_UP_MARGIN \
    REPORT_EVERY_SECONDS UNIT CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

# The other members first: the leader's index is read before this member's, so writes that land
# in between can only make this member look further ahead, never behind.
ALL_ENDPOINTS=${PEER_ENDPOINTS:+$PEER_ENDPOINTS,}$LOCAL_ENDPOINT
ctl() { etcdctl --endpoints "$ALL_ENDPOINTS" --command-timeout=3s "$@"; }

# Why the member is not ready yet (empty when it is).
waiting_for=""
member_ready() {
    local list state endpoints statuses indexes
    if ! list=$(ctl member list -w json 2>/dev/null); then
        waiting_for="the member list (no member answers)"
        return 1
    fi
    state=$(etcd_json member-state "$PEER_URL" <<<"$list")
    if [ "$state" != voter ]; then
        waiting_for="$MEMBER_NAME to be a started voting member (it is $state)"
        return 1
    fi
    if ! etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s endpoint health >/dev/null 2>&1; then
        waiting_for="$MEMBER_NAME to answer a health check"
        return 1
    fi
    # Every started voting member the list names, this one last (see above): the leader may be a
    # member no longer in the spec (on scale-in it leaves at the end of the update, after this ran).
    # etcdctl fails when any member does not answer, after printing those that did.
    endpoints=$(etcd_json voters "" <<<"$list" | awk -v own="$LOCAL_ENDPOINT" '$2 == "started" && $3 != own { printf "%s,", $3 }')
    statuses=$(etcdctl --endpoints "$endpoints$LOCAL_ENDPOINT" --command-timeout=3s endpoint status -w json 2>/dev/null) || true
    if ! indexes=$(etcd_json caught-up "$LOCAL_ENDPOINT" "$CATCH_UP_MARGIN" <<<"${statuses:-[]}"); then
        waiting_for="$MEMBER_NAME to catch up (applied index ${indexes% *}, the leader's ${indexes#* })"
        return 1
    fi
    log "$MEMBER_NAME is a started voting member, healthy, applied index ${indexes% *} (the leader's ${indexes#* })"
}

report_failure() {
    log "$MEMBER_NAME was not ready within $TIMEOUT_SECONDS s: still waiting for $waiting_for"
    ctl member list --write-out=table || true
    ctl endpoint status --write-out=table || true
    journalctl --unit "$UNIT" --lines 50 --no-pager | mask_discovery_secrets || true
}

deadline=$((SECONDS + TIMEOUT_SECONDS))
next_report=$((SECONDS + REPORT_EVERY_SECONDS))
until member_ready; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        report_failure
        exit 1
    fi
    if [ "$SECONDS" -ge "$next_report" ]; then
        log "still waiting for $waiting_for"
        next_report=$((SECONDS + REPORT_EVERY_SECONDS))
    fi
    # A look is a few short etcdctl calls; a late one delays the roll's next member by as much.
    sleep 0.2
done
