#!/usr/bin/env bash
# etcd-aws leave: removes this member from its cluster (only when the rest keep quorum, under the
# membership lock; the last member is left as it is), then disables and stops etcd. Installed on
# each member at /usr/local/sbin/etcd-aws-leave; runs before the host goes away (scale-in,
# destroy, a replaced launch), an operator can too.
# Expects the settings of lib/membership.sh (MEMBER_NAME, PEER_URL, LOCAL_ENDPOINT, ..., and the
# client TLS files CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE, empty without TLS).
set -euo pipefail
LOG_TAG=leave
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/membership.sh"
fi
require_settings MEMBER_NAME PEER_URL LOCAL_ENDPOINT PEER_ENDPOINTS LOCK_KEY UNIT WAIT_SECONDS REPORT_EVERY_SECONDS \
    CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

# The member list and the lock through this member too: on destroy every member leaves at once,
# and the one that gets the lock last finds every other member gone, but its own etcd answers.
other_endpoints=$PEER_ENDPOINTS
PEER_ENDPOINTS=$LOCAL_ENDPOINT${PEER_ENDPOINTS:+,$PEER_ENDPOINTS}

id=$(local_member_id)
list=$(member_list) || list=""
if [ -z "$id" ] && [ -n "$list" ]; then
    # etcd is down: find the entry by name and peer URL (both, so a namesake is never removed).
    id=$(etcd_json member-ids both "$MEMBER_NAME" "$PEER_URL" <<<"$list" || true)
fi

# Under the lock, from the membership as it is now: the members that left while this one waited
# are gone, and the last voting member has no cluster to be removed from (etcd refuses that).
leave_cluster() {
    list=$(member_list) || { log "no member answers"; return 1; }
    if [ -z "$(etcd_json voters "$id" <<<"$list")" ]; then
        log "$MEMBER_NAME ($id) is the last voting member; nothing to remove"
        return 0
    fi
    # The quorum check and the removal through the others only: a member that serves its own
    # removal stops before it answers.
    local PEER_ENDPOINTS=$other_endpoints
    ensure_quorum_without "$id"
    change_membership remove "$id" >/dev/null
    log "removed $MEMBER_NAME ($id) from the cluster"
}

if [ -n "$id" ] && [ -n "$list" ] && etcd_json has-member "$id" <<<"$list"; then
    with_cluster_lock leave_cluster
else
    log "$MEMBER_NAME is not a member of a reachable cluster; nothing to remove"
fi
systemctl disable --quiet "$UNIT" || true
systemctl stop "$UNIT" || true
