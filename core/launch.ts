// Scripts that run on members after install: configure-and-start one member, register the
// discovery size, and the cluster health gate that ends a deployment.
import { renderEnvFile } from "./flags";
import { ClusterSpec, clientEndpoints, HOST_PATHS, MemberSpec, PKI_FILES } from "./model";
import { assignments, heredoc, scriptPrelude } from "./shell";

/** A file the launch script writes on the member, e.g. a TLS key. */
export interface HostFile {
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
    readonly content: string;
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

/**
 * Writes the member's files and environment file, then starts etcd, or restarts it when its
 * configuration changed. Running it again with the same input changes nothing.
 */
export function renderLaunchScript(spec: ClusterSpec, member: MemberSpec, files: readonly HostFile[] = []): string {
    const writes = [...files, { path: HOST_PATHS.envFile, mode: "0640", owner: "root:etcd", content: renderEnvFile(spec, member) }]
        .map((file) => `if write_if_changed ${file.path} ${file.mode} ${file.owner} ${heredoc(file.content)}\nthen\n    changed=yes\nfi`)
        .join("\n");
    return [
        scriptPrelude("launch", [`Configures and starts etcd member ${member.name} of cluster ${spec.clusterName} (${spec.mode} bootstrap).`]),
        "changed=no",
        writes,
        "",
        "systemctl enable --quiet etcd.service",
        'if [ "$changed" = yes ]; then',
        '    log "configuration changed: restarting etcd"',
        "    systemctl restart --no-block etcd.service",
        "elif ! systemctl is-active --quiet etcd.service; then",
        '    log "starting etcd"',
        "    systemctl start --no-block etcd.service",
        "else",
        '    log "etcd is running with this configuration already"',
        "fi",
        "",
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
    # A member that has not started yet is listed as "unstarted", with an empty name.
    started=$(printf '%s\\n' "$members" | awk -F', ' '$2 == "started" && $3 != "" { n++ } END { print n + 0 }')
    [ "$started" -eq "$EXPECTED_MEMBERS" ] || return 1
    etcdctl --endpoints "$ENDPOINTS" --command-timeout=5s endpoint health --cluster >/dev/null 2>&1
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
