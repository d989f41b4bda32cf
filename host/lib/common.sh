#!/usr/bin/env bash
# Shared by every etcd-aws host script: the log function, write_if_changed and the test root.
# Expects: LOG_TAG (the script's purpose, e.g. "launch"), optional ETCD_AWS_ROOT / ETCD_AWS_OWNER.
# In the rendered stdin bundle this text follows the settings; run from a checkout, the scripts
# source it.

# ETCD_AWS_ROOT: a directory that stands in for / (tests run the scripts against one); empty on
# a member. Host paths in the settings are the member's; under_root moves them below it.
ETCD_AWS_ROOT=${ETCD_AWS_ROOT:-}
# ETCD_AWS_OWNER: the owner every written file gets instead of its own (tests not run as root).
ETCD_AWS_OWNER=${ETCD_AWS_OWNER:-}

# etcdctl 3.4 and later speak the v3 API by default, and 3.6 and later warn about the variable.
unset ETCDCTL_API

log() { printf '%s etcd-%s: %s\n' "$(date -u +%H:%M:%S)" "${LOG_TAG:-aws}" "$*" >&2; }

# etcd logs its discovery token, URL and proxy, which admit members (and the URLs can hold a
# password): text that leaves the member, such as the deployment's error, has them masked.
mask_discovery_secrets() { sed -E 's/("discovery-(token|url|proxy)": ?")[^"]*"/\1***"/g'; }

# A URL without its user:password, for log lines.
without_userinfo() { sed -E 's#//[^/@]*@#//#' <<<"$1"; }

# Fails unless every named setting is set (the rendered bundle sets them all; a direct run
# gets them from the environment).
require_settings() {
    local name missing=()
    for name in "$@"; do
        [ -n "${!name+set}" ] || missing+=("$name")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "missing settings: ${missing[*]}"
        exit 2
    fi
}

# Prefixes each named (non-empty) path setting with ETCD_AWS_ROOT; each script calls it once.
under_root() {
    local name
    [ -n "$ETCD_AWS_ROOT" ] || return 0
    for name in "$@"; do
        if [ -n "${!name}" ]; then
            printf -v "$name" '%s%s' "$ETCD_AWS_ROOT" "${!name}"
        fi
    done
}

# etcdctl's TLS settings when the cluster uses TLS (CA_FILE, CLIENT_CERT_FILE and
# CLIENT_KEY_FILE set; all empty without TLS).
use_client_tls() {
    if [ -n "$CA_FILE" ]; then
        export ETCDCTL_CACERT=$CA_FILE ETCDCTL_CERT=$CLIENT_CERT_FILE ETCDCTL_KEY=$CLIENT_KEY_FILE
    fi
}

# write_if_changed path mode owner:group < content
# Installs stdin at the path with mode and owner; exit status 0 when it changed the file, 1 when
# the file already had that content, which makes re-runs change nothing. It runs as an if
# condition, where bash ignores set -e: each step exits on failure itself.
write_if_changed() {
    local path=$1 mode=$2 owner=${ETCD_AWS_OWNER:-$3} tmp
    tmp=$(mktemp "${path}.XXXXXX") || exit 1
    cat >"$tmp" || exit 1
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
        chmod "$mode" "$path" || exit 1
        chown "$owner" "$path" || exit 1
        return 1
    fi
    chmod "$mode" "$tmp" || exit 1
    chown "$owner" "$tmp" || exit 1
    mv -f "$tmp" "$path" || exit 1
    log "wrote $path"
}

# write_host_file path mode owner:group < content: write_if_changed of a member path (below
# ETCD_AWS_ROOT when set).
write_host_file() {
    write_if_changed "$ETCD_AWS_ROOT$1" "$2" "$3"
}

# The JSON answers of etcdctl (-w json) and of etcd's peer /members, read by lib/etcd_json.py:
# etcd_json COMMAND ARGS... < json. The bundle carries the helper's text in ETCD_JSON_PY.
etcd_json() {
    if [ -z "${ETCD_JSON_PY:-}" ]; then
        ETCD_JSON_PY=$(cat "${BASH_SOURCE[0]%/*}/etcd_json.py")
    fi
    python3 -c "$ETCD_JSON_PY" "$@"
}
