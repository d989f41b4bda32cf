#!/usr/bin/env bash
# etcd-aws health gate: the last step of a deployment. Waits until every member of the spec (its
# peer URL in PEER_URLS) is a started voting member and every spec member's endpoint answers a
# health check; otherwise fails with what it waited for, the member list, the cluster's health
# and etcd's last log lines. Members that are not in the spec are leaving: on scale-in the engine
# deletes their launches (whose delete runs the leave script) only after this gate ran, so they
# are listed, not counted, and never fail it. An alarm raised in the cluster fails it at once
# (etcd never clears one by itself), naming the alarm, the member and how to recover: NOSPACE (the
# database reached its quota; the cluster takes no writes) with RECOVER_SPACE_COMMAND.
# Expects: ENDPOINTS (every spec member's client URL, comma-separated), PEER_URLS (their peer
# URLs), TIMEOUT_SECONDS, UNIT; CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS);
# optional RECOVER_SPACE_COMMAND (the space recovery installed on the members).
set -euo pipefail
LOG_TAG=health
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings ENDPOINTS PEER_URLS TIMEOUT_SECONDS UNIT CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

expected=$(tr ',' '\n' <<<"$PEER_URLS" | grep -c .)
RECOVER_SPACE_COMMAND=${RECOVER_SPACE_COMMAND:-}

# What the gate still waits for, the members leaving (etcd_json gate's lines) and the alarms
# raised ("ALARM NAME ID" lines of etcd_json alarms).
waiting_for=""
leaving=""
alarms=""
cluster_ready() {
    local members verdict answer
    if ! members=$(etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s member list -w json 2>/dev/null); then
        waiting_for="the member list (no member answers)"
        return 1
    fi
    # (Under an alarm 3.5 and later also fail the health check below: the alarm is the reason.)
    if answer=$(etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s alarm list -w json 2>/dev/null) &&
        alarms=$(etcd_json alarms "$members" <<<"$answer") && [ -n "$alarms" ]; then
        return 1
    fi
    # A member that never ran is listed under its --initial-cluster name, but without client
    # URLs (one added later has no name either): only started voting members count.
    if ! verdict=$(etcd_json gate "$PEER_URLS" <<<"$members"); then
        waiting_for=$(grep -v '^leaving ' <<<"$verdict" | paste -sd ';' - || true)
        waiting_for=${waiting_for:-an answer etcd_json could read}
        return 1
    fi
    leaving=$(sed -n 's/^leaving \([^ ]*\) \([^ ]*\)$/\1 (\2)/p' <<<"$verdict" | paste -sd ',' - || true)
    # Every expected endpoint, not --cluster: that would include the members leaving.
    if ! etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s endpoint health >/dev/null 2>&1; then
        waiting_for="every member of the spec to answer a health check"
        return 1
    fi
}

report_failure() {
    log "cluster did not become healthy within $TIMEOUT_SECONDS s: still waiting for $waiting_for"
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s member list --write-out=table || true
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s endpoint health --cluster || true
    journalctl --unit "$UNIT" --lines 50 --no-pager | mask_discovery_secrets || true
}

report_alarms() {
    local alarm name id
    while read -r alarm name id; do
        case $alarm in
        NOSPACE)
            log "NOSPACE alarm raised on member $name ($id): its database reached the backend quota and the cluster takes no writes until the space is recovered${RECOVER_SPACE_COMMAND:+; on any member run: $RECOVER_SPACE_COMMAND}"
            ;;
        CORRUPT)
            log "CORRUPT alarm raised on member $name ($id): its data differs from the other members'; replace that member (it rejoins with their data), then etcdctl alarm disarm"
            ;;
        *) log "alarm $alarm raised on member $name ($id)" ;;
        esac
    done <<<"$alarms"
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s endpoint status --write-out=table >&2 || true
}

deadline=$((SECONDS + TIMEOUT_SECONDS))
until cluster_ready; do
    if [ -n "$alarms" ]; then
        report_alarms
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        report_failure
        exit 1
    fi
    sleep 2
done
etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s member list --write-out=table
log "all $expected members of the spec are healthy"
if [ -n "$leaving" ]; then
    log "not in the spec, leaving at the end of the update (not counted): ${leaving//,/, }"
fi
