#!/usr/bin/env bash
# etcd-aws discovery size: registers the discovery token's size before any member starts, on
# the v2 keys API (`<token URL>/_config/size`) or as the v3 key
# `/_etcd/registry/<token>/_config/size`. A size already registered with the same value is left
# alone; a different value means the token is in use by another cluster, and the script fails.
# Expects: PROTOCOL (v2 or v3), SIZE; v3: ENDPOINTS (the discovery cluster's client URLs) and
# SIZE_KEY; v2: SIZE_URL and PROXY (empty: none).
set -euo pipefail
LOG_TAG=discovery
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings PROTOCOL SIZE

# The registered size, empty when none is.
registered_size() {
    if [ "$PROTOCOL" = v3 ]; then
        etcdctl --endpoints "$ENDPOINTS" --command-timeout=10s get --print-value-only "$SIZE_KEY"
        return
    fi
    local answer
    answer=$(curl "${curl_options[@]}" "$SIZE_URL" 2>/dev/null) || return 0
    etcd_json v2-value <<<"$answer"
}

register_size() {
    if [ "$PROTOCOL" = v3 ]; then
        etcdctl --endpoints "$ENDPOINTS" --command-timeout=10s put "$SIZE_KEY" "$SIZE" >/dev/null
    else
        curl "${curl_options[@]}" -X PUT "$SIZE_URL" -d "value=$SIZE" >/dev/null
    fi
}

if [ "$PROTOCOL" = v3 ]; then
    require_settings ENDPOINTS SIZE_KEY
else
    require_settings SIZE_URL PROXY
    curl_options=(-fsS --retry 5 --retry-connrefused)
    if [ -n "$PROXY" ]; then curl_options+=(--proxy "$PROXY"); fi
fi

current=$(registered_size)
if [ -n "$current" ] && [ "$current" != "$SIZE" ]; then
    log "the token already has size $current, not $SIZE: it belongs to another cluster; use a new token"
    exit 1
fi
if [ -z "$current" ]; then
    register_size
    log "registered size $SIZE"
fi
