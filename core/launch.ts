// Scripts that run on members after install: configure-and-start one member, register the
// discovery size, and the cluster health gate that ends a deployment.
import { envVarName, renderEnvFile, renderMemberFlags } from "./flags";
import { ClusterSpec, clientEndpoints, clientUrl, HOST_PATHS, MemberSpec, peerUrl, PKI_FILES, scheme } from "./model";
import { assignments, heredoc, scriptPrelude } from "./shell";

/** A file the launch script writes on the member, e.g. a TLS key. */
export interface HostFile {
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
    readonly content: string;
}

/** PEM texts of one member's certificates: server and peer share the member's key. */
export interface MemberCertificatePems {
    readonly serverCertPem: string;
    readonly peerCertPem: string;
    readonly keyPem: string;
}

/** The TLS files a member's launch script writes, at PKI_FILES (keys 0600, all owned by etcd). */
export function memberTlsFiles(ca: string, member: MemberCertificatePems, client: { cert: string; key: string }): HostFile[] {
    const file = (path: string, content: string, mode = "0644"): HostFile => ({ path, content, mode, owner: "etcd:etcd" });
    return [
        file(PKI_FILES.ca, ca),
        file(PKI_FILES.serverCert, member.serverCertPem),
        file(PKI_FILES.serverKey, member.keyPem, "0600"),
        file(PKI_FILES.peerCert, member.peerCertPem),
        file(PKI_FILES.peerKey, member.keyPem, "0600"),
        file(PKI_FILES.clientCert, client.cert),
        file(PKI_FILES.clientKey, client.key, "0600"),
    ];
}

/** etcdctl's TLS settings as environment variables, when the cluster uses TLS. */
function etcdctlTlsEnv(spec: ClusterSpec): string {
    if (!spec.tls) {
        return "";
    }
    return [
        `export ETCDCTL_CACERT=${PKI_FILES.ca}`,
        `export ETCDCTL_CERT=${PKI_FILES.clientCert}`,
        `export ETCDCTL_KEY=${PKI_FILES.clientKey}`,
    ].join("\n");
}

/** `write_if_changed` whose "unchanged" status is not an error (the heredoc follows the command line). */
function writeUnlessSame(target: string, content: string): string {
    const [opener, ...body] = heredoc(content, "FILE").split("\n");
    return [`write_if_changed ${target} ${opener} || true`, ...body].join("\n");
}

/** Flags that only matter when a cluster forms; a member joining a running one drops them. */
const BOOTSTRAP_ONLY_FLAGS = ["discovery", "discovery-srv", "discovery-srv-name", "discovery-token", "discovery-endpoints"];

/** Seconds a launch or leave waits for the cluster (member healthy, learner promoted). */
export const MEMBERSHIP_WAIT_SECONDS = 300;

/**
 * Shell functions shared by the launch and leave scripts: etcdctl against the other members,
 * and the quorum check that every membership change and restart passes first.
 */
function otherMembers(spec: ClusterSpec, member: MemberSpec): MemberSpec[] {
    return spec.members.filter((m) => m.name !== member.name);
}

function membershipFunctions(spec: ClusterSpec, member: MemberSpec): string {
    const others = otherMembers(spec, member);
    return [
        assignments({
            MEMBER_NAME: member.name,
            PEER_URL: peerUrl(spec, member),
            // The member's own address: always among its listeners and in its certificate.
            LOCAL_ENDPOINT: `${scheme(spec)}://${member.address}:${spec.ports.client}`,
            PEER_ENDPOINTS: others.map((m) => clientUrl(spec, m)).join(","),
            WAIT_SECONDS: MEMBERSHIP_WAIT_SECONDS,
            REPORT_EVERY_SECONDS: 30,
        }),
        "export ETCDCTL_API=3",
        etcdctlTlsEnv(spec),
        "",
        `# etcdctl against the other members (empty for a single-member cluster).
peers() {
    [ -n "$PEER_ENDPOINTS" ] || return 1
    etcdctl --endpoints "$PEER_ENDPOINTS" --command-timeout=5s "$@"
}

# "ID, status, name, peer URLs, client URLs, is learner" lines of the membership.
member_list() {
    peers member list 2>/dev/null
}

# "member add|remove ..." through the other members; prints etcdctl's output. etcd refuses these
# with "unhealthy cluster" until its leader has been connected to the members for 5 s, as just
# after any restart of a roll: that refusal is waited out (up to WAIT_SECONDS), others fail.
change_membership() {
    local output deadline=$((SECONDS + WAIT_SECONDS))
    until output=$(peers member "$@" 2>&1); do
        if [[ $output != *"unhealthy cluster"* ]] || [ "$SECONDS" -ge "$deadline" ]; then
            printf '%s\\n' "$output" >&2
            return 1
        fi
        sleep 1
    done
    printf '%s\\n' "$output"
}

# Counts the voting members other than $1, and those of them that answer a health check:
# sets voters and healthy.
count_other_voters() {
    local excluded=$1 list id status client_urls learner
    voters=0
    healthy=0
    list=$(member_list) || { log "no other member answers"; return 1; }
    while IFS=, read -r id status _ _ client_urls learner; do
        if [ "$id" = "$excluded" ] || [ "\${learner# }" = true ]; then
            continue
        fi
        voters=$((voters + 1))
        if [ "\${status# }" = started ] && etcdctl --endpoints "\${client_urls# }" --command-timeout=3s endpoint health >/dev/null 2>&1; then
            healthy=$((healthy + 1))
        fi
    done < <(printf '%s\\n' "$list")
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
        etcdctl --endpoints "$PEER_ENDPOINTS" lock etcd-aws/membership >"$lock_fifo" 2>/dev/null &
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

# The ID this member's own etcd reports, empty when it is not running (|| true: under pipefail
# a failing etcdctl would end the caller before its "not running" fallback).
local_member_id() {
    etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s endpoint status 2>/dev/null | awk -F', ' '{ print $2 }' || true
}

# Runs a command every second until it succeeds, saying every REPORT_EVERY_SECONDS why it has not
# yet; gives up after WAIT_SECONDS with the command's last error and etcd's log.
retry_until() {
    local what=$1 deadline=$((SECONDS + WAIT_SECONDS)) next_report=$((SECONDS + REPORT_EVERY_SECONDS)) output
    shift
    until output=$("$@" 2>&1); do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "gave up after $WAIT_SECONDS s: $what; last error: \${output##*$'\\n'}; etcd's last log lines:"
            journalctl --unit etcd.service --lines 30 --no-pager >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$next_report" ]; then
            log "still waiting for $what: \${output##*$'\\n'}"
            next_report=$((SECONDS + REPORT_EVERY_SECONDS))
        fi
        sleep 1
    done
}

wait_until_healthy() {
    retry_until "$MEMBER_NAME healthy" etcdctl --endpoints "$LOCAL_ENDPOINT" --command-timeout=3s endpoint health
}`,
    ].join("\n");
}

/**
 * The leave script: removes this member from the cluster through the other members (only when
 * the rest keep quorum), then stops etcd. Installed on the host; run before the host goes away.
 */
export function renderLeaveScript(spec: ClusterSpec, member: MemberSpec): string {
    return [
        scriptPrelude("leave", [`Removes etcd member ${member.name} from cluster ${spec.clusterName}, keeping quorum, then stops it.`]),
        membershipFunctions(spec, member),
        `
id=$(local_member_id)
if [ -z "$id" ]; then
    # etcd is down: find the entry by name and peer URL (both, so a namesake is never removed).
    id=$(member_list | awk -F', ' -v name="$MEMBER_NAME" -v url="$PEER_URL" '$3 == name && $4 == url { print $1 }' || true)
fi
# (grep without -q: -q stops reading early, and etcdctl's SIGPIPE would fail the pipeline.)
leave_cluster() {
    ensure_quorum_without "$id"
    change_membership remove "$id" >/dev/null
    log "removed $MEMBER_NAME ($id) from the cluster"
}

if [ -n "$id" ] && member_list | grep "^$id, " >/dev/null; then
    with_cluster_lock leave_cluster
else
    log "$MEMBER_NAME is not a member of a reachable cluster; nothing to remove"
fi
systemctl disable --quiet etcd.service || true
systemctl stop etcd.service || true
`,
    ].join("\n");
}

/**
 * Writes the member's files and environment file, then brings etcd up the way its state asks:
 * - data present: restart only when its files changed since etcd started (on this run or on one
 *   whose restart was refused), one member at a time (quorum checked first, health awaited after);
 * - no data, a running cluster answers: join it (replace a stale entry of the same name, add as
 *   learner, start with --initial-cluster-state existing, promote once in sync);
 * - no data, no cluster, and called with --bootstrap (first creation only): start the new cluster.
 * Without --bootstrap it never forms a second cluster. Running it again changes nothing.
 */
export function renderLaunchScript(spec: ClusterSpec, member: MemberSpec, files: readonly HostFile[] = []): string {
    const flags = renderMemberFlags(spec, member);
    const blanked = flags.filter((flag) => BOOTSTRAP_ONLY_FLAGS.includes(flag.name)).map((flag) => `${envVarName(flag.name)}=`);
    const writes = [...files, { path: HOST_PATHS.envFile, mode: "0640", owner: "root:etcd", content: renderEnvFile(spec, member) }]
        .map((file) => `if write_if_changed ${file.path} ${file.mode} ${file.owner} ${heredoc(file.content)}\nthen\n    touch "$RESTART_PENDING"\nfi`)
        .join("\n");
    return [
        scriptPrelude("launch", [
            `Configures and starts etcd member ${member.name} of cluster ${spec.clusterName} (${spec.mode} bootstrap).`,
            "Usage: launch [--bootstrap]  (--bootstrap: may form a new cluster; only on first creation)",
        ]),
        membershipFunctions(spec, member),
        assignments({
            OTHER_PEER_URLS: otherMembers(spec, member).map((m) => peerUrl(spec, m)).join(","),
            DATA_DIR: spec.dataDir,
            JOIN_ENV_FILE: HOST_PATHS.joinEnvFile,
            LEAVE_SCRIPT: HOST_PATHS.leaveScript,
            RESTART_PENDING: HOST_PATHS.restartPending,
        }),
        'may_bootstrap=no',
        'if [ "${1:-}" = --bootstrap ]; then may_bootstrap=yes; fi',
        "",
        // A changed file marks a restart as owed until etcd (re)starts, so a restart that was
        // refused or interrupted still happens when the same launch runs again.
        writes,
        // Not a restart reason: the leave script only matters when the member goes away.
        writeUnlessSame('"$LEAVE_SCRIPT" 0755 root:root', renderLeaveScript(spec, member)),
        "",
        spec.tls ? `peer_tls=(--cacert ${PKI_FILES.ca} --cert ${PKI_FILES.peerCert} --key ${PKI_FILES.peerKey})` : "peer_tls=()",
        `
# On first creation: whether this member belongs to the cluster being formed. It asks every
# other member at once for the membership it sees (GET /members on the peer port: etcd serves it
# from its start, before any leader exists, so a forming member answers as fast as a running
# one; a member still waiting for its discovery service accepts but does not answer, hence the
# short limit). True when none answers, or each that does lists this member's peer URL as an
# initial member never started (no client URLs, not a learner: it may start late with the
# bootstrap flags). False when a running cluster does not list it (a member added later) or
# lists an earlier incarnation of it (a replaced host, a learner added before): it joins.
# (HTTP/1.1: over TLS curl would offer HTTP/2, which etcd's peer port breaks off.)
forming_or_waiting() {
    local views peer_url view entry status=0
    views=$(mktemp -d)
    for peer_url in \${OTHER_PEER_URLS//,/ }; do
        curl -fsS --http1.1 --max-time 0.5 "\${peer_tls[@]}" -o "$views/\${peer_url//[^a-z0-9]/_}" "$peer_url/members" 2>/dev/null &
    done
    wait
    for view in "$views"/*; do
        [ -s "$view" ] || continue
        entry=$(sed 's/},{/}\\n{/g' "$view" | grep -F "\\"$PEER_URL\\"" || true)
        if [ -z "$entry" ] || [[ $entry == *'"clientURLs"'* ]] || [[ $entry == *'"isLearner":true'* ]]; then
            status=1 # a running cluster: join
            break
        fi
    done
    rm -rf "$views"
    return "$status"
}

# Starts or restarts ($1) etcd, which then runs with the files as written: no restart is owed.
start_etcd() {
    rm -f "$RESTART_PENDING"
    systemctl "$1" --no-block etcd.service
}

# Joins the running cluster as a new member: a stale entry of this name (a replaced host)
# is removed first, the member is added as a learner and promoted once it has caught up.
join_cluster() {
    local list stale added initial id
    list=$(member_list)
    stale=$(printf '%s\\n' "$list" | awk -F', ' -v name="$MEMBER_NAME" -v url="$PEER_URL" '($3 == name || $4 == url) { print $1 }')
    for id in $stale; do
        ensure_quorum_without "$id"
        change_membership remove "$id" >/dev/null
        log "removed stale member $id ($MEMBER_NAME)"
    done
    added=$(change_membership add "$MEMBER_NAME" --peer-urls="$PEER_URL" --learner)
    # etcdctl pads the ID to 16 columns ("Member %16x added"): an ID with a leading zero
    # nibble follows two spaces.
    id=$(printf '%s\\n' "$added" | sed -n 's/^Member  *\\([0-9a-f][0-9a-f]*\\) added.*/\\1/p')
    initial=$(printf '%s\\n' "$added" | sed -n 's/^ETCD_INITIAL_CLUSTER="\\(.*\\)"$/\\1/p')
    if [ -z "$id" ] || [ -z "$initial" ]; then
        log "could not read the new member's ID and initial cluster from etcdctl's answer:"
        printf '%s\\n' "$added" >&2
        exit 1
    fi
    log "added $MEMBER_NAME as learner $id"
    write_if_changed "$JOIN_ENV_FILE" 0640 root:etcd <<JOIN || true
# $MEMBER_NAME joined a running cluster: these override the bootstrap settings in etcd.env.
ETCD_INITIAL_CLUSTER=$initial
ETCD_INITIAL_CLUSTER_STATE=existing
${blanked.join("\n")}
JOIN
    start_etcd restart
    # Promotion succeeds once the learner has caught up with the leader.
    retry_until "learner $id caught up and promoted" peers member promote "$id"
    log "promoted $MEMBER_NAME ($id) to voting member"
    wait_until_healthy
}

# Restarts this member for its new configuration, once every other member is healthy, and
# waits until it serves again.
restart_member() {
    ensure_others_healthy "$(local_member_id)"
    log "configuration changed: restarting etcd"
    start_etcd restart
    wait_until_healthy
}
`,
        "systemctl enable --quiet etcd.service",
        `if [ -d "$DATA_DIR/member" ]; then
    # An initialised member: bootstrap flags are ignored from now on, as etcd intends.
    if [ -e "$RESTART_PENDING" ]; then
        with_cluster_lock restart_member
    elif ! systemctl is-active --quiet etcd.service; then
        log "starting etcd on its existing data"
        start_etcd start
    else
        log "etcd is running with this configuration already"
    fi
elif [ "$may_bootstrap" = yes ] && forming_or_waiting; then
    log "starting etcd: forming the cluster"
    rm -f "$JOIN_ENV_FILE"
    start_etcd restart
elif member_list >/dev/null; then
    log "no local data and the cluster is running: joining it"
    with_cluster_lock join_cluster
else
    log "no local data and no other member answers: refusing to form a second cluster"
    exit 1
fi
`,
    ].join("\n");
}

export interface HealthGateInput {
    /** Seconds to wait for the cluster before failing the deployment. */
    readonly timeoutSeconds: number;
}

/**
 * Waits until every member is started and healthy (`endpoint health --cluster`) and the member
 * list has the expected size; otherwise fails with the member list and the last log lines.
 */
export function renderHealthGateScript(spec: ClusterSpec, input: HealthGateInput): string {
    return [
        scriptPrelude("health", [`Health gate of etcd cluster ${spec.clusterName}: waits for ${spec.members.length} healthy members.`]),
        assignments({
            ENDPOINTS: clientEndpoints(spec).join(","),
            EXPECTED_MEMBERS: spec.members.length,
            TIMEOUT_SECONDS: input.timeoutSeconds,
        }),
        etcdctlTlsEnv(spec),
        "export ETCDCTL_API=3",
        "",
        `cluster_ready() {
    local members started
    members=$(etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s member list 2>/dev/null) || return 1
    # A member that never ran is listed "started" under its --initial-cluster name, but without
    # client URLs (one added later is "unstarted", nameless): count only members that published.
    started=$(printf '%s\\n' "$members" | awk -F', ' '$2 == "started" && $3 != "" && $5 != "" { n++ } END { print n + 0 }')
    [ "$started" -eq "$EXPECTED_MEMBERS" ] || return 1
    # Every expected endpoint, not --cluster: that skips members without client URLs.
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s endpoint health >/dev/null 2>&1
}

report_failure() {
    log "cluster did not become healthy within $TIMEOUT_SECONDS s"
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s member list --write-out=table || true
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s endpoint health --cluster || true
    journalctl --unit etcd.service --lines 50 --no-pager || true
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
`,
    ].join("\n");
}

/**
 * Registers the discovery token's size before any member starts: the v2 keys API's
 * `<url>/_config/size`, or the v3 key `/_etcd/registry/<token>/_config/size`. A size already
 * registered with the same value is left alone; a different value means the token is in use.
 */
export function renderDiscoverySizeScript(spec: ClusterSpec): string {
    const discovery = spec.discovery;
    if (!discovery || !discovery.registerSize) {
        throw new Error("this cluster registers no discovery size");
    }
    const prelude = scriptPrelude("discovery", [`Registers size ${discovery.size} for the discovery token of cluster ${spec.clusterName}.`]);
    const check = `if [ -n "$current" ] && [ "$current" != "$SIZE" ]; then
    log "the token already has size $current, not $SIZE: it belongs to another cluster; use a new token"
    exit 1
fi`;
    if (discovery.protocol === "v3") {
        return [
            prelude,
            assignments({ ENDPOINTS: (discovery.endpoints ?? []).join(","), SIZE_KEY: `/_etcd/registry/${discovery.token}/_config/size`, SIZE: discovery.size }),
            "export ETCDCTL_API=3",
            'current=$(etcdctl --endpoints "$ENDPOINTS" --command-timeout=10s get --print-value-only "$SIZE_KEY")',
            check,
            'if [ -z "$current" ]; then',
            '    etcdctl --endpoints "$ENDPOINTS" --command-timeout=10s put "$SIZE_KEY" "$SIZE" >/dev/null',
            '    log "registered size $SIZE"',
            "fi",
            "",
        ].join("\n");
    }
    return [
        prelude,
        assignments({ SIZE_URL: `${discovery.url}/_config/size`, SIZE: discovery.size, PROXY: discovery.proxy ?? "" }),
        'curl_options=(-fsS --retry 5 --retry-connrefused)',
        'if [ -n "$PROXY" ]; then curl_options+=(--proxy "$PROXY"); fi',
        `current=$(curl "\${curl_options[@]}" "$SIZE_URL" 2>/dev/null | sed -n 's/.*"value":"\\([0-9]*\\)".*/\\1/p' || true)`,
        check,
        'if [ -z "$current" ]; then',
        '    curl "${curl_options[@]}" -X PUT "$SIZE_URL" -d "value=$SIZE" >/dev/null',
        '    log "registered size $SIZE"',
        "fi",
        "",
    ].join("\n");
}

/**
 * Turns on etcd authentication once the cluster is healthy: user root (role root) with the
 * given password, passed on stdin and never as an argument, then `auth enable`. The package's
 * own checks keep working through the client certificate, whose common name is root. Running
 * it again only sets the password again.
 */
export function renderAuthScript(spec: ClusterSpec, rootPassword: string): string {
    return [
        scriptPrelude("auth", [`Enables authentication on etcd cluster ${spec.clusterName} with user root.`]),
        assignments({ ENDPOINTS: clientEndpoints(spec).join(","), ROOT_PASSWORD: rootPassword }),
        "export ETCDCTL_API=3",
        etcdctlTlsEnv(spec),
        `
ctl() { etcdctl --endpoints "$ENDPOINTS" --command-timeout=10s "$@"; }

if ! ctl role get root >/dev/null 2>&1; then
    ctl role add root >/dev/null
fi
if ctl user get root >/dev/null 2>&1; then
    printf '%s\\n' "$ROOT_PASSWORD" | ctl user passwd root --interactive=false >/dev/null
else
    printf '%s\\n' "$ROOT_PASSWORD" | ctl user add root --interactive=false >/dev/null
    log "created user root"
fi
if ! ctl user get root | grep '^Roles: .*\\broot\\b' >/dev/null; then
    ctl user grant-role root root >/dev/null
fi
ctl auth enable >/dev/null
log "authentication is enabled"
`,
    ].join("\n");
}
