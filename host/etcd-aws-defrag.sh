#!/usr/bin/env bash
# etcd-aws defrag: every member's timer runs it. When some member's database file holds at least
# MIN_WASTED_BYTES and MIN_WASTED_FRACTION of its size in free pages (endpoint status: dbSize
# less dbSizeInUse; compaction frees pages but only a defrag gives them back, and etcd counts the
# whole file against its quota), it takes the cluster's lock (LOCK_KEY, the one restarts and
# membership changes take) and defragments those members one at a time, followers first and the
# leader last, each caught up with its leader before the next. The first member's timer does the
# cluster's work; the others then find nothing worth it. With an alarm raised it does nothing and
# fails: NOSPACE is the space recovery's (RECOVER_SPACE_COMMAND), CORRUPT an operator's.
# Expects: the settings of lib/membership.sh (but PEER_URL), MIN_WASTED_BYTES, MIN_WASTED_FRACTION,
# DEFRAG_TIMEOUT_SECONDS, CATCH_UP_MARGIN, RECOVER_SPACE_COMMAND; CA_FILE, CLIENT_CERT_FILE and
# CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=defrag
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/membership.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/defrag.sh"
fi
require_settings MEMBER_NAME LOCAL_ENDPOINT PEER_ENDPOINTS LOCK_KEY UNIT WAIT_SECONDS REPORT_EVERY_SECONDS \
    MIN_WASTED_BYTES MIN_WASTED_FRACTION DEFRAG_TIMEOUT_SECONDS CATCH_UP_MARGIN RECOVER_SPACE_COMMAND \
    CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

alarms=$(raised_alarms)
if [ -n "$alarms" ]; then
    while read -r alarm name id; do
        log "$alarm alarm raised on member $name ($id): no defrag; $([ "$alarm" = NOSPACE ] &&
            echo "recover the space: $RECOVER_SPACE_COMMAND" || echo "that member needs an operator")"
    done <<<"$alarms"
    exit 1
fi

# Looked at without the lock (no write to the cluster when there is nothing to do), then again
# under it: another member's timer may have defragmented meanwhile.
status=0
worth_defragmenting "$MIN_WASTED_BYTES" "$MIN_WASTED_FRACTION" || status=$?
case $status in
0) ;;
1) exit 0 ;;
*) exit 1 ;;
esac

defrag_under_lock() {
    defrag_pass "$MIN_WASTED_BYTES" "$MIN_WASTED_FRACTION"
    log "defragmented $defragmented member(s)"
}
with_cluster_lock defrag_under_lock
