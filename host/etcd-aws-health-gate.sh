#!/usr/bin/env bash
# etcd-aws health gate: the last step of a deployment. Waits until every member of the spec (its
# peer URL in PEER_URLS) is a started voting member and every spec member's endpoint answers a
# health check; otherwise fails with what it waited for, the member list, the cluster's health
# and etcd's last log lines. Members that are not in the spec are leaving: on scale-in the engine
# deletes their launches (whose delete runs the leave script) only after this gate ran, so they
# are listed, not counted, and never fail it.
# Expects: ENDPOINTS (every spec member's client URL, comma-separated), PEER_URLS (their peer
# URLs), TIMEOUT_SECONDS, UNIT; CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS).
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
# What the gate still waits for, and the members leaving (etcd_json gate's lines).
waiting_for=""
leaving=""
cluster_ready() {
    local members verdict
    if ! members=$(etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s member list -w json 2>/dev/null); then
        waiting_for="the member list (no member answers)"
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

deadline=$((SECONDS + TIMEOUT_SECONDS))
until cluster_ready; do
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
