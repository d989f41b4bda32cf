#!/usr/bin/env bash
# Shared by the launch and leave scripts: etcdctl against the other members, the quorum checks
# every membership change and restart passes first, the cluster-wide membership lock and the
# bounded waits. Decisions read etcdctl's JSON (-w json) through etcd_json (lib/etcd_json.py).
# Expects (besides lib/common.sh): MEMBER_NAME, PEER_URL, LOCAL_ENDPOINT (this member's client
# URL), PEER_ENDPOINTS (the other members' client URLs, comma-separated; empty for a single
# member), LOCK_KEY, UNIT, WAIT_SECONDS, REPORT_EVERY_SECONDS; with TLS the ETCDCTL_CACERT,
# ETCDCTL_CERT and ETCDCTL_KEY paths.

# etcdctl against the other members (fails for a single-member cluster).
peers() {
    [ -n "$PEER_ENDPOINTS" ] || return 1
    etcdctl --endpoints "$PEER_ENDPOINTS" --command-timeout=5s "$@"
}

# The membership as the other members see it (etcdctl's JSON).
member_list() {
    peers member list -w json 2>/dev/null
}

# "member add|remove ..." through the other members; prints etcdctl's answer (its stdout: the
# JSON with -w json; its warnings on stderr are not part of it). etcd refuses these with
# "unhealthy cluster" until its leader has been connected to the members for 5 s, as just after
# any restart of a roll: that refusal is waited out (up to WAIT_SECONDS), others fail.
change_membership() {
    local answer errors deadline=$((SECONDS + WAIT_SECONDS))
    answer=$(mktemp)
    until errors=$(peers member "$@" 2>&1 >"$answer"); do
        if [[ $errors != *"unhealthy cluster"* ]] || [ "$SECONDS" -ge "$deadline" ]; then
            printf '%s\n' "$errors" >&2
            rm -f "$answer"
            return 1
        fi
        sleep 1
    done
    cat "$answer"
    rm -f "$answer"
}

# Counts the voting members other than $1 (hex ID), and those of them that answer a health
# check: sets voters and healthy.
count_other_voters() {
    local excluded=$1 list entries id status client_urls
    voters=0
    healthy=0
    list=$(member_list) || { log "no other member answers"; return 1; }
    entries=$(etcd_json voters "$excluded" <<<"$list") || return 1
    while read -r id status client_urls; do
        [ -n "$id" ] || continue
        voters=$((voters + 1))
        if [ "$status" = started ] && etcdctl --endpoints "$client_urls" --command-timeout=3s endpoint health >/dev/null 2>&1; then
            healthy=$((healthy + 1))
        fi
    done <<<"$entries"
}

# Removing member $1 is safe when the healthy voters left are a majority of those left.
ensure_quorum_without() {
    count_other_voters "$1" || return 1
    if [ "$voters" -gt 0 ] && [ "$healthy" -lt $((voters / 2 + 1)) ]; then
        log "refusing to remove member $1: only $healthy of the $voters members that would remain are healthy"
        return 1
    fi
}

# Restarting member $1 is done only when every other member is healthy: the roll stops at the
# first member that did not come back.
ensure_others_healthy() {
    count_other_voters "$1" || return 1
    if [ "$healthy" -lt "$voters" ]; then
        log "refusing to restart member $1: only $healthy of the other $voters members are healthy"
        return 1
    fi
}

# Takes the cluster-wide etcd-aws lock (an etcd lock held through the other members by a
# background etcdctl, lock_pid). etcdctl gives up at once when an endpoint cannot serve it
# (a member still starting, a learner), so it is retried until WAIT_SECONDS. (Globals: the
# EXIT trap still needs them after the function returned.)
lock_pid=""
lock_fifo=""
take_cluster_lock() {
    local started=$SECONDS deadline=$((SECONDS + WAIT_SECONDS)) attempts=0
    lock_fifo=$(mktemp -u)
    mkfifo "$lock_fifo"
    trap 'kill "$lock_pid" 2>/dev/null || true; rm -f "$lock_fifo"' EXIT
    while true; do
        attempts=$((attempts + 1))
        etcdctl --endpoints "$PEER_ENDPOINTS" lock "$LOCK_KEY" >"$lock_fifo" 2>/dev/null &
        lock_pid=$!
        if read -r -t "$((deadline - SECONDS > 0 ? deadline - SECONDS : 1))" _ <"$lock_fifo"; then
            rm -f "$lock_fifo"
            log "took the membership lock (waited $((SECONDS - started)) s, $attempts attempt(s))"
            return 0
        fi
        kill "$lock_pid" 2>/dev/null || true
        wait "$lock_pid" 2>/dev/null || true
        if [ "$SECONDS" -ge "$deadline" ]; then
            rm -f "$lock_fifo"
            log "could not take the membership lock within $WAIT_SECONDS s"
            return 1
        fi
        sleep 1
    done
}

# Runs "$@" holding the lock, so restarts and membership changes happen one member at a time
# even when every member's launch runs at once. If "$@" fails the script exits and the EXIT
# trap lets go of the lock.
with_cluster_lock() {
    if [ -z "$PEER_ENDPOINTS" ]; then
        "$@"
        return
    fi
    take_cluster_lock
    "$@"
    kill "$lock_pid" 2>/dev/null || true
    wait "$lock_pid" 2>/dev/null || true
    trap - EXIT
}

# The (hex) ID this member's own etcd reports, empty when it is not running (|| true: under
# pipefail a failing etcdctl would end the caller before its "not running" fallback).
local_member_id() {
    local status
    status=$(etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s endpoint status -w json 2>/dev/null) || return 0
    etcd_json local-id <<<"$status" 2>/dev/null || true
}

# Runs a command every second until it succeeds, saying every REPORT_EVERY_SECONDS why it has not
# yet; gives up after WAIT_SECONDS with the command's last error and etcd's log.
retry_until() {
    local what=$1 deadline=$((SECONDS + WAIT_SECONDS)) next_report=$((SECONDS + REPORT_EVERY_SECONDS)) output
    shift
    until output=$("$@" 2>&1); do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "gave up after $WAIT_SECONDS s: $what; last error: ${output##*$'\n'}; etcd's last log lines:"
            journalctl --unit "$UNIT" --lines 30 --no-pager >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$next_report" ]; then
            log "still waiting for $what: ${output##*$'\n'}"
            next_report=$((SECONDS + REPORT_EVERY_SECONDS))
        fi
        sleep 1
    done
}

wait_until_healthy() {
    retry_until "$MEMBER_NAME healthy" etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s endpoint health
}
