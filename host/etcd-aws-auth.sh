#!/usr/bin/env bash
# etcd-aws auth: turns on etcd authentication once the cluster is healthy: user root (role
# root) with the given password, passed on stdin and never as an argument, then `auth enable`.
# The package's own checks keep working through the client certificate, whose common name is
# root. Running it again only sets the password again.
# Expects: ENDPOINTS (every member's client URL), ROOT_PASSWORD; CA_FILE, CLIENT_CERT_FILE and
# CLIENT_KEY_FILE (empty without TLS).
set -euo pipefail
LOG_TAG=auth
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings ENDPOINTS ROOT_PASSWORD CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
use_client_tls

ctl() { etcdctl --endpoints "$ENDPOINTS" --command-timeout=10s "$@"; }

if ! ctl role get root >/dev/null 2>&1; then
    ctl role add root >/dev/null
fi
if ctl user get root >/dev/null 2>&1; then
    printf '%s\n' "$ROOT_PASSWORD" | ctl user passwd root --interactive=false >/dev/null
else
    printf '%s\n' "$ROOT_PASSWORD" | ctl user add root --interactive=false >/dev/null
    log "created user root"
fi
if ! ctl user get root -w json | etcd_json has-role root; then
    ctl user grant-role root root >/dev/null
fi
ctl auth enable >/dev/null
log "authentication is enabled"
