#!/usr/bin/env bash
# Shared by the launch and leave scripts: etcdctl against the other members, the quorum checks
# every membership change and restart passes first, the cluster-wide membership lock and the
# bounded waits. Decisions read etcdctl's JSON (-w json) through etcd_json (lib/etcd_json.py).
# Expects (besides lib/common.sh): MEMBER_NAME, PEER_URL, LOCAL_ENDPOINT (this member's client
# URL), PEER_ENDPOINTS (the other members' client URLs, comma-separated; empty for a single
# member), LOCK_KEY, UNIT, WAIT_SECONDS, REPORT_EVERY_SECONDS; with TLS the ETCDCTL_CACERT,
# ETCDCTL_CERT and ETCDCTL_KEY paths.

# How often the waits (member healthy, learner promoted, membership change accepted, lock
# attempts) look again: a look is one short etcdctl call, and a look that comes late delays a
# roll's hand-over from one member to the next by as much.
POLL_SECONDS=0.2

# How far (raft entries) a member may be behind its leader's applied index and count as caught up:
# a restarted member holds the lock until it is within it, and leadership goes only to a member
# within it (as the ready check's CATCH_UP_MARGIN, core/scripts/member-ready.ts).
CATCH_UP_ENTRIES=100

# The leader raises the cluster version only once every member runs the new release, and looks
# every few seconds: how long the last member of a roll waits to report it.
CLUSTER_VERSION_WAIT_SECONDS=30

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
        sleep "$POLL_SECONDS"
    done
    cat "$answer"
    rm -f "$answer"
}

# Counts the voting members other than $1 (hex ID), and those of them that answer a health
# check: sets voters and healthy.
count_other_voters() {
    local excluded=$1 list entries id status client_urls check serving=() checks=()
    voters=0
    healthy=0
    list=$(member_list) || { log "no other member answers"; return 1; }
    entries=$(etcd_json voters "$excluded" <<<"$list") || return 1
    while read -r id status client_urls; do
        [ -n "$id" ] || continue
        voters=$((voters + 1))
        if [ "$status" = started ]; then
            serving+=("$client_urls")
        fi
    done <<<"$entries"
    [ "${#serving[@]}" -gt 0 ] || return 0
    # One etcdctl checks them all at once, and fails when any is unhealthy (the next holder of
    # the lock waits for this); only then is each counted on its own, all at once too.
    if etcdctl --endpoints "$(IFS=,; echo "${serving[*]}")" --command-timeout=3s endpoint health >/dev/null 2>&1; then
        healthy=${#serving[@]}
        return 0
    fi
    for client_urls in "${serving[@]}"; do
        etcdctl --endpoints "$client_urls" --command-timeout=3s endpoint health >/dev/null 2>&1 &
        checks+=("$!")
    done
    for check in "${checks[@]}"; do
        if wait "$check"; then
            healthy=$((healthy + 1))
        fi
    done
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

# The cluster-wide etcd-aws lock: `etcdctl lock` (an etcd lease of LOCK_TTL_SECONDS and a key
# under LOCK_KEY, granted in the keys' order) runs a command while it holds the lock. That command
# says "held PID" and then waits (tail --pid) until this shell lets go or ends, however it ends:
# then etcdctl deletes the key at once. Only a holder whose etcdctl is gone with it (the host
# lost, kill -9 of etcdctl) keeps the others waiting, until its lease runs out (LOCK_TTL_SECONDS).
# Not shorter: the holder's keep-alives must get through a leader election (the holder's own
# member may be the leader it restarts); etcd lengthens it to 1.5 election timeouts if that is more.
LOCK_TTL_SECONDS=5
lock_status="" # fd: the lock command's "held PID" line, then end of file once etcdctl exited
lock_holder="" # PID of the command that holds the lock for this shell (empty: not held)

# The client URLs of the started voting members, comma-separated, for the lock's etcdctl: it
# sends each request to any of its endpoints, and a learner or an unstarted member fails it at
# once. (This member's own too: the last one left may have only itself to ask.)
lock_endpoints() {
    local list entries id status client_urls endpoints=""
    list=$(member_list) || return 1
    entries=$(etcd_json voters "" <<<"$list") || return 1
    while read -r id status client_urls; do
        if [ -n "$id" ] && [ "$status" = started ]; then
            endpoints+=${endpoints:+,}$client_urls
        fi
    done <<<"$entries"
    [ -n "$endpoints" ] && printf '%s\n' "$endpoints"
}

# The other started voters' client URLs, or this member's own when it is the only one: the lock of
# a command that stops this member's etcd (a restart) goes through them, since its lease
# keep-alive is a gRPC stream, and a stream to this member would hold its stop (etcd waits up to
# 7 s for open streams). Not for leaving: the others may be gone by the time the lock is free.
lock_endpoints_but_own() {
    local listed endpoint others=""
    listed=$(lock_endpoints) || return 1
    for endpoint in ${listed//,/ }; do
        [ "$endpoint" = "$LOCAL_ENDPOINT" ] || others+=${others:+,}$endpoint
    done
    printf '%s\n' "${others:-$listed}"
}

# Takes the lock (see above), waiting up to WAIT_SECONDS, through every started voter or ($1 =
# others) the others only. etcdctl gives up when its request meets a member that cannot serve it
# (one restarting): it is started again at once.
take_cluster_lock() {
    local through=${1:-all} started=$SECONDS deadline=$((SECONDS + WAIT_SECONDS)) attempts=0 errors endpoints lock_pid line
    errors=$(mktemp)
    while true; do
        attempts=$((attempts + 1))
        if [ "$through" = others ]; then
            endpoints=$(lock_endpoints_but_own) || endpoints=$PEER_ENDPOINTS
        else
            endpoints=$(lock_endpoints) || endpoints=$PEER_ENDPOINTS
        fi
        # (The holder's PID is this shell's: $$, in the command's own shell $1.)
        # shellcheck disable=SC2016
        exec {lock_status}< <(exec etcdctl --endpoints "$endpoints" lock --ttl "$LOCK_TTL_SECONDS" "$LOCK_KEY" -- \
            sh -c 'echo "held $$"; exec tail -s "$2" -f /dev/null --pid "$1" >/dev/null' lock-holder "$$" "$POLL_SECONDS" \
            </dev/null 2>"$errors")
        lock_pid=$!
        if read -r -t "$((deadline > SECONDS ? deadline - SECONDS : 1))" -u "$lock_status" line && [[ $line == "held "* ]]; then
            lock_holder=${line#held }
            rm -f "$errors"
            log "took the membership lock (waited $((SECONDS - started)) s, $attempts attempt(s))"
            return 0
        fi
        kill "$lock_pid" 2>/dev/null || true # (when the time is up, etcdctl still waits)
        exec {lock_status}<&-
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "could not take the membership lock within $WAIT_SECONDS s; etcdctl: $(tail -n 1 "$errors")"
            rm -f "$errors"
            return 1
        fi
        sleep "$POLL_SECONDS"
    done
}

# Lets go of the lock: ends the holding command, then waits (briefly) until etcdctl deleted its
# key and exited; should it hang, the lease runs out instead.
release_cluster_lock() {
    [ -n "$lock_holder" ] || return 0
    kill "$lock_holder" 2>/dev/null || true
    read -r -t "$LOCK_TTL_SECONDS" -u "$lock_status" _ || true
    exec {lock_status}<&-
    lock_holder=""
}

# Runs "$@" holding the lock, so restarts and membership changes happen one member at a time
# even when every member's launch runs at once. If "$@" fails the script exits, and with it the
# lock's holding command: the lock is released all the same. With --stopping-own-etcd first (the
# command stops this member's etcd), the lock is taken through the other members.
with_cluster_lock() {
    local through=all
    if [ "${1:-}" = --stopping-own-etcd ]; then
        through=others
        shift
    fi
    if [ -z "$PEER_ENDPOINTS" ]; then
        "$@"
        return
    fi
    take_cluster_lock "$through"
    "$@"
    release_cluster_lock
}

# The (hex) ID this member's own etcd reports, empty when it is not running (|| true: under
# pipefail a failing etcdctl would end the caller before its "not running" fallback).
local_member_id() {
    local status
    status=$(etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s endpoint status -w json 2>/dev/null) || return 0
    etcd_json local-id <<<"$status" 2>/dev/null || true
}

# Runs a command every POLL_SECONDS until it succeeds, saying every REPORT_EVERY_SECONDS why it has not
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
        sleep "$POLL_SECONDS"
    done
}

# The other started voting members' client URLs (comma-separated; empty when there are none) as
# this member's own etcd lists them: for a script rendered without them (the install, which a
# change of the cluster's shape must not change on every member). Fails when etcd does not answer.
peer_endpoints_from_own_etcd() {
    local own list id status client_urls endpoints=""
    own=$(local_member_id)
    [ -n "$own" ] || return 1
    list=$(etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s member list -w json 2>/dev/null) || return 1
    while read -r id status client_urls; do
        if [ -n "$id" ] && [ "$status" = started ]; then
            endpoints+=${endpoints:+,}$client_urls
        fi
    done < <(etcd_json voters "$own" <<<"$list")
    printf '%s\n' "$endpoints"
}

# This member's etcdctl endpoint health, each look given half a second: etcdctl started while
# etcd restarts meets a refused connection and dials again only a second later, so a longer look
# would see the member serve again up to a second late (and keep the next holder waiting as long).
# A member too slow to answer within it is looked at again, as one still starting.
local_health() {
    etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=0.5s endpoint health
}

wait_until_healthy() {
    retry_until "$MEMBER_NAME healthy" local_health
}

# The client URLs of the started voting members, this member's own last (comma-separated): etcdctl
# asks them in that order, so the leader's applied index is read before this member's, and writes
# landing in between can only make this member look further ahead, never behind.
voter_endpoints_own_last() {
    local listed endpoint others=""
    listed=$(lock_endpoints) || return 1
    for endpoint in ${listed//,/ }; do
        [ "$endpoint" = "$LOCAL_ENDPOINT" ] || others+=$endpoint,
    done
    printf '%s%s\n' "$others" "$LOCAL_ENDPOINT"
}

# `endpoint status -w json` of the endpoints $1; fails unless every one answered.
endpoint_statuses() {
    etcdctl --endpoints "$1" --command-timeout=3s endpoint status -w json 2>/dev/null
}

# The release of the etcd binary installed on this host (the one a restart starts), empty when
# there is none to ask.
installed_version() {
    etcd --version 2>/dev/null | awk '$1 == "etcd" && $2 == "Version:" { print $3 }' || true
}

# While this member ($1, hex ID) leads, leadership goes to a caught-up voting member first (one
# already on the installed release when there is one: the roll then moves it no more), so no member
# is stopped while it leads and the cluster does not wait out an election timeout. Done once this
# member reports another leader; gives up after WAIT_SECONDS.
hand_over_leadership() {
    local own_id=$1 deadline=$((SECONDS + WAIT_SECONDS)) endpoints statuses decision target version endpoint moved
    local why="" release
    if [ -z "$own_id" ]; then
        log "$MEMBER_NAME does not answer endpoint status: restarting it without asking whether it leads"
        return 0
    fi
    release=$(installed_version)
    while true; do
        if ! endpoints=$(voter_endpoints_own_last); then
            why="the member list (no member answers)"
        elif ! statuses=$(endpoint_statuses "$endpoints"); then
            why="every voting member to answer endpoint status"
        elif ! decision=$(etcd_json leader-handover "$own_id" "$release" "$CATCH_UP_ENTRIES" <<<"$statuses"); then
            why="another voting member within $CATCH_UP_ENTRIES entries of this leader (${decision:-no answer})"
        elif [ "$decision" = follower ]; then
            return 0
        else
            read -r _ target version endpoint <<<"$decision"
            log "$MEMBER_NAME leads: moving leadership to $target ($endpoint, etcd $version) before the restart"
            if moved=$(etcdctl --endpoints "$endpoints" --command-timeout=5s move-leader "$target" 2>&1); then
                log "${moved##*$'\n'}"
                why="$MEMBER_NAME to report the new leader"
            else
                why="move-leader to $target: ${moved##*$'\n'}"
            fi
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "refusing to restart the leader $MEMBER_NAME: gave up after $WAIT_SECONDS s waiting for $why"
            return 1
        fi
        sleep "$POLL_SECONDS"
    done
}

# Succeeds once this member's applied index is within CATCH_UP_ENTRIES of its leader's (statuses of
# the endpoints $1, this member's last); says how far it is otherwise.
caught_up_with_leader() {
    local statuses indexes
    statuses=$(etcdctl --endpoints "$1" --command-timeout=3s endpoint status -w json 2>/dev/null) || true
    if ! indexes=$(etcd_json caught-up "$LOCAL_ENDPOINT" "$CATCH_UP_ENTRIES" <<<"${statuses:-[]}"); then
        echo "applied index ${indexes% *}, the leader's ${indexes#* }"
        return 1
    fi
}

wait_until_caught_up() {
    local endpoints
    endpoints=$(voter_endpoints_own_last) || endpoints=$LOCAL_ENDPOINT # a single member: its own leader
    retry_until "$MEMBER_NAME caught up with its leader" caught_up_with_leader "$endpoints"
}

# GET of a path of this member's client URL (with the client certificate when there is TLS).
local_get() {
    local tls=()
    if [ -n "${ETCDCTL_CACERT:-}" ]; then
        tls=(--cacert "$ETCDCTL_CACERT" --cert "$ETCDCTL_CERT" --key "$ETCDCTL_KEY")
    fi
    curl -fsS --http1.1 --max-time 3 "${tls[@]}" "$LOCAL_ENDPOINT$1" 2>/dev/null
}

# etcd's /version from this member: the cluster version (etcdcluster).
cluster_version() {
    local_get /version | etcd_json cluster-version 2>/dev/null
}

# When this member's etcd process started (its process_start_time_seconds metric); empty when it
# does not answer. (awk reads everything: a reader that stops early would fail curl under pipefail.)
etcd_started_at() {
    local_get /metrics | awk '$1 == "process_start_time_seconds" { print $2 }' || true
}

# A restart returns before the old process is gone (systemctl --no-block), and that process may
# still answer a health check: the member counts as restarted once its etcd reports another start
# time than $1 (its start before the restart). Nothing to compare when it did not report one.
new_process_since() {
    local now
    now=$(etcd_started_at)
    if [ -z "$now" ] || [ "$now" = "$1" ]; then
        echo "etcd reports the start time ${now:-(none)}, not a new one"
        return 1
    fi
}

wait_until_restarted() {
    [ -n "$1" ] || return 0
    retry_until "$MEMBER_NAME's etcd to run as a new process" new_process_since "$1"
}

# Logs the release this member ($1, hex ID) runs and the cluster version. When every voting member
# runs this one's release, waits (up to CLUSTER_VERSION_WAIT_SECONDS) for the cluster version to
# reach its line (while /version answers), so the roll's last member reports where the cluster ended.
report_versions() {
    local own_id=$1 endpoints statuses releases own others wanted cluster="" deadline=$((SECONDS + CLUSTER_VERSION_WAIT_SECONDS))
    endpoints=$(voter_endpoints_own_last) || endpoints=$LOCAL_ENDPOINT
    statuses=$(endpoint_statuses "$endpoints") || true
    releases=$(etcd_json versions <<<"${statuses:-[]}" 2>/dev/null) || true
    own=$(awk -v id="$own_id" '$1 == id { print $2 }' <<<"$releases")
    others=$(awk -v own="$own" '$2 != own { printf " %s:%s", $1, $2 }' <<<"$releases")
    if [ -n "$own" ] && [ -z "$others" ]; then
        wanted=${own%.*}.0
        until ! cluster=$(cluster_version) || [ "$cluster" = "$wanted" ] || [ "$SECONDS" -ge "$deadline" ]; do
            sleep 1
        done
    else
        cluster=$(cluster_version) || true
    fi
    log "$MEMBER_NAME runs etcd ${own:-?}; cluster version ${cluster:-?}${others:+; members on other releases:$others}"
}
