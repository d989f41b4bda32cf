#!/usr/bin/env bash
# Shared by the defrag timer's script and the space recovery: the alarms raised, and the defrag
# pass, which defragments the cluster's members one at a time, followers first and the leader
# last, each caught up with its leader before the next. A defrag blocks its member while it copies
# the live data into a new file; the members not being defragmented keep quorum meanwhile, so a
# pass starts only when every member answers.
# Expects (besides lib/common.sh and lib/membership.sh): DEFRAG_TIMEOUT_SECONDS, CATCH_UP_MARGIN.

# etcdctl against every member this member's settings name (itself first).
known_members() {
    etcdctl --endpoints "$LOCAL_ENDPOINT${PEER_ENDPOINTS:+,$PEER_ENDPOINTS}" --command-timeout=5s "$@"
}

# "ALARM NAME ID" per alarm raised in the cluster (etcd_json alarms); nothing when none is.
raised_alarms() {
    local list answer
    list=$(known_members member list -w json 2>/dev/null) || { log "no member answers the member list"; return 1; }
    answer=$(known_members alarm list -w json 2>/dev/null) || { log "no member answers the alarm list"; return 1; }
    etcd_json alarms "$list" <<<"$answer"
}

# A byte count as a person reads it, e.g. 2.8MiB.
bytes() { numfmt --to=iec-i --suffix=B "$1"; }

# The client URLs of the cluster's started voting members (its member list, so members added
# after this member's settings count too); a single member has only its own.
defrag_endpoints() {
    if [ -z "$PEER_ENDPOINTS" ]; then
        printf '%s\n' "$LOCAL_ENDPOINT"
        return 0
    fi
    lock_endpoints || { log "no other member answers the member list"; return 1; }
}

# endpoint status -w json of every endpoint in $1; fails unless every one of them answered.
every_status() {
    etcdctl --endpoints "$1" --command-timeout=5s endpoint status -w json 2>/dev/null ||
        { log "not every member answers its status (of $1): no defrag while one is away, it would cost quorum"; return 1; }
}

# The plan (etcd_json defrag-plan) of the members in $1, with thresholds $2 (bytes) and $3
# (fraction of the file) and the members already done in $4.
defrag_plan() {
    local status
    status=$(every_status "$1") || return 1
    etcd_json defrag-plan "$2" "$3" "$4" <<<"$status"
}

# Exit 0 when a member of the cluster has wasted space worth a defrag (thresholds $1 and $2);
# says what it found.
worth_defragmenting() {
    local endpoints plan
    endpoints=$(defrag_endpoints) || return 2
    plan=$(defrag_plan "$endpoints" "$1" "$2" "") || return 2
    if ! grep -q '^defrag ' <<<"$plan"; then
        while read -r _ id _ size in_use role; do
            log "nothing to defragment on $role $id: $(bytes "$size") file, $(bytes "$in_use") in use"
        done <<<"$plan"
        return 1
    fi
}

# Member at $2 caught up with its leader (within CATCH_UP_MARGIN entries), asking every member in $1.
caught_up_after_defrag() {
    local answer
    answer=$(etcdctl --endpoints "$1" --command-timeout=3s endpoint status -w json 2>/dev/null) || true
    etcd_json caught-up "$2" "$CATCH_UP_MARGIN" <<<"${answer:-[]}"
}

# defrag_pass MIN_BYTES MIN_FRACTION: defragments each member whose wasted space (file size less
# the size in use) is at least MIN_BYTES and MIN_FRACTION of its file, one at a time; planned
# again after each, so a member that became leader meanwhile still goes last. Sets defragmented.
defrag_pass() {
    local min_bytes=$1 min_fraction=$2 endpoints plan verdict id endpoint size in_use role done="" started after
    defragmented=0
    endpoints=$(defrag_endpoints) || return 1
    while true; do
        plan=$(defrag_plan "$endpoints" "$min_bytes" "$min_fraction" "$done") || return 1
        verdict=""
        read -r verdict id endpoint size in_use role < <(grep -m 1 '^defrag ' <<<"$plan") || true
        [ "$verdict" = defrag ] || break
        log "defragmenting $role $id ($endpoint): $(bytes "$size") file, $(bytes "$in_use") in use"
        started=$SECONDS
        etcdctl --endpoints "$endpoint" --command-timeout="${DEFRAG_TIMEOUT_SECONDS}s" defrag >/dev/null
        retry_until "$id caught up with its leader after its defrag" caught_up_after_defrag "$endpoints" "$endpoint"
        after=$(etcdctl --endpoints "$endpoint" --command-timeout=5s endpoint status -w json |
            etcd_json defrag-plan 0 0 "" | cut -d' ' -f4)
        log "defragmented $role $id in $((SECONDS - started)) s: file $(bytes "$size") -> $(bytes "$after")"
        done+=${done:+,}$id
        defragmented=$((defragmented + 1))
    done
    while read -r verdict id endpoint size in_use role; do
        if [ "$verdict" = keep ]; then
            log "kept $role $id: $(bytes "$size") file, $(bytes "$in_use") in use, too little wasted"
        fi
    done <<<"$plan"
}
