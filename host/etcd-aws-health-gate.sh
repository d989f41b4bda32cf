#!/usr/bin/env bash
# etcd-aws health gate: the last step of a deployment. Waits until the member list has the
# expected number of members that run (a name and client URLs) and every expected endpoint
# answers a health check; otherwise fails with the member list, the cluster's health and etcd's
# last log lines.
# Expects: ENDPOINTS (every member's client URL, comma-separated), EXPECTED_MEMBERS,
# TIMEOUT_SECONDS, UNIT; CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=health
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings ENDPOINTS EXPECTED_MEMBERS TIMEOUT_SECONDS UNIT CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

cluster_ready() {
    local members started
    members=$(etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s member list -w json 2>/dev/null) || return 1
    # A member that never ran is listed under its --initial-cluster name, but without client
    # URLs (one added later has no name either): count only members that published.
    started=$(etcd_json published <<<"$members") || return 1
    [ "$started" -eq "$EXPECTED_MEMBERS" ] || return 1
    # Every expected endpoint, not --cluster: that skips members without client URLs.
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s endpoint health >/dev/null 2>&1
}

report_failure() {
    log "cluster did not become healthy within $TIMEOUT_SECONDS s"
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
log "all $EXPECTED_MEMBERS members are healthy"
