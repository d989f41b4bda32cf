#!/usr/bin/env bash
# etcd-aws auth: turns on etcd authentication once the cluster is healthy. User root (role root)
# with the given password, passed on stdin and never as an argument; the application's user
# CLIENT_USER without a password (its client certificate, whose common name is the user, is its
# credential) with a role of the same name that may read and write exactly the keys under
# CLIENT_KEY_PREFIX (every key when empty), never more; then `auth enable`. It authenticates
# with this member's admin client certificate (common name root), so it keeps working once auth
# is on. Running it again sets the root password again and brings the role back to that one
# permission (the package owns the role); nothing else changes.
# Expects: ENDPOINTS (every member's client URL), ROOT_PASSWORD, CLIENT_USER, CLIENT_KEY_PREFIX
# (may be empty); CA_FILE, CLIENT_CERT_FILE and CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=auth
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings ENDPOINTS ROOT_PASSWORD CLIENT_USER CLIENT_KEY_PREFIX CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

ctl() { etcdctl --endpoints "$ENDPOINTS" --command-timeout=10s "$@"; }

ensure_role() {
    if ! ctl role get "$1" >/dev/null 2>&1; then
        ctl role add "$1" >/dev/null
        log "created role $1"
    fi
}

# grant_role USER ROLE, unless etcd's JSON says the user has it already.
grant_role() {
    if ! ctl user get "$1" -w json | etcd_json has-role "$2"; then
        ctl user grant-role "$1" "$2" >/dev/null
    fi
}

ensure_role root
if ctl user get root >/dev/null 2>&1; then
    printf '%s\n' "$ROOT_PASSWORD" | ctl user passwd root --interactive=false >/dev/null
else
    printf '%s\n' "$ROOT_PASSWORD" | ctl user add root --interactive=false >/dev/null
    log "created user root"
fi
grant_role root root

ensure_role "$CLIENT_USER"
changes=$(ctl role get "$CLIENT_USER" -w json | etcd_json role-changes "$CLIENT_KEY_PREFIX")
while IFS=$'\x1f' read -r change mode key end; do
    case $change in
        revoke)
            case $mode in
                prefix | from-key) ctl role revoke-permission "--$mode" -- "$CLIENT_USER" "$key" >/dev/null ;;
                key) ctl role revoke-permission -- "$CLIENT_USER" "$key" >/dev/null ;;
                range) ctl role revoke-permission -- "$CLIENT_USER" "$key" "$end" >/dev/null ;;
            esac
            log "revoked the $mode permission on \"$key\" from role $CLIENT_USER"
            ;;
        grant)
            if [ -z "$CLIENT_KEY_PREFIX" ]; then
                ctl role grant-permission --from-key -- "$CLIENT_USER" readwrite "" >/dev/null
                log "role $CLIENT_USER may read and write every key"
            else
                ctl role grant-permission --prefix -- "$CLIENT_USER" readwrite "$CLIENT_KEY_PREFIX" >/dev/null
                log "role $CLIENT_USER may read and write the keys under $CLIENT_KEY_PREFIX"
            fi
            ;;
    esac
done <<<"$changes"
if ! ctl user get "$CLIENT_USER" >/dev/null 2>&1; then
    ctl user add "$CLIENT_USER" --no-password >/dev/null
    log "created user $CLIENT_USER (no password: its client certificate is its credential)"
fi
grant_role "$CLIENT_USER" "$CLIENT_USER"

ctl auth enable >/dev/null
log "authentication is enabled"
