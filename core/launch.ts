// The launch and leave scripts of one member (host/etcd-aws-launch.sh, host/etcd-aws-leave.sh
// and host/lib/membership.sh): their settings, and the files the launch writes.
import { envVarName, renderEnvFile, renderMemberFlags } from "./flags";
import {
    BOOTSTRAP_ARG,
    ETCD_UNIT,
    HOST_PATHS,
    MEMBERSHIP_LOCK_KEY,
    MEMBERSHIP_WAIT_SECONDS,
    PKI_FILES,
    REPORT_EVERY_SECONDS,
} from "./host-contract";
import { ClusterSpec, clientUrl, MemberSpec, peerUrl, scheme } from "./model";
import { heredoc, renderBundle, shellFunction } from "./shell";

/** A file the launch script writes on the member, e.g. a TLS key. */
export interface HostFile {
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
    readonly content: string;
}

/**
 * PEM texts of one member's certificates: server and peer share the member's key; its admin
 * client certificate (common name root, for the package's scripts on this member) has its own.
 */
export interface MemberCertificatePems {
    readonly serverCertPem: string;
    readonly peerCertPem: string;
    readonly keyPem: string;
    readonly adminCertPem: string;
    readonly adminKeyPem: string;
}

/**
 * The TLS files a member's launch script writes, at PKI_FILES (keys 0600, all owned by etcd):
 * the CA and this member's own certificates and keys, never another member's.
 */
export function memberTlsFiles(ca: string, member: MemberCertificatePems): HostFile[] {
    const file = (path: string, content: string, mode = "0644"): HostFile => ({
        path,
        content,
        mode,
        owner: "etcd:etcd",
    });
    return [
        file(PKI_FILES.ca, ca),
        file(PKI_FILES.serverCert, member.serverCertPem),
        file(PKI_FILES.serverKey, member.keyPem, "0600"),
        file(PKI_FILES.peerCert, member.peerCertPem),
        file(PKI_FILES.peerKey, member.keyPem, "0600"),
        file(PKI_FILES.clientCert, member.adminCertPem),
        file(PKI_FILES.clientKey, member.adminKeyPem, "0600"),
    ];
}

/** The TLS file settings of a script that runs etcdctl (all empty without TLS). */
export function clientTlsSettings(
    spec: Pick<ClusterSpec, "tls">,
): Record<"CA_FILE" | "CLIENT_CERT_FILE" | "CLIENT_KEY_FILE", string> {
    return {
        CA_FILE: spec.tls ? PKI_FILES.ca : "",
        CLIENT_CERT_FILE: spec.tls ? PKI_FILES.clientCert : "",
        CLIENT_KEY_FILE: spec.tls ? PKI_FILES.clientKey : "",
    };
}

/** Flags that only matter when a cluster forms; a member joining a running one drops them. */
const BOOTSTRAP_ONLY_FLAGS = [
    "discovery",
    "discovery-srv",
    "discovery-srv-name",
    "discovery-token",
    "discovery-endpoints",
];

function otherMembers(spec: ClusterSpec, member: MemberSpec): MemberSpec[] {
    return spec.members.filter((m) => m.name !== member.name);
}

/** How long the launch and leave wait for the cluster, and how often they say why. */
export interface MembershipWaits {
    /** Default MEMBERSHIP_WAIT_SECONDS. */
    readonly waitSeconds?: number;
    /** Default REPORT_EVERY_SECONDS. */
    readonly reportEverySeconds?: number;
}

/** How a script on the member reaches it and the other members: its name, peer URL and client URLs. */
export function memberEndpointSettings(
    spec: ClusterSpec,
    member: MemberSpec,
): Record<"MEMBER_NAME" | "PEER_URL" | "LOCAL_ENDPOINT" | "PEER_ENDPOINTS", string> {
    return {
        MEMBER_NAME: member.name,
        PEER_URL: peerUrl(spec, member),
        // The member's own address: always among its listeners and in its certificate.
        LOCAL_ENDPOINT: `${scheme(spec)}://${member.address}:${spec.ports.client}`,
        PEER_ENDPOINTS: otherMembers(spec, member)
            .map((m) => clientUrl(spec, m))
            .join(","),
    };
}

/**
 * The settings of host/lib/membership.sh that depend on this member alone: for a script that changes no membership
 * and reads the other members' endpoints from its own etcd when it needs them (peer_endpoints_from_own_etcd), so
 * that a change of the cluster's shape does not change it on every member.
 */
export function ownMembershipSettings(
    spec: ClusterSpec,
    member: MemberSpec,
    waits: MembershipWaits = {},
): Record<string, string | number> {
    const { MEMBER_NAME, LOCAL_ENDPOINT } = memberEndpointSettings(spec, member);
    return {
        MEMBER_NAME,
        LOCAL_ENDPOINT,
        LOCK_KEY: MEMBERSHIP_LOCK_KEY,
        UNIT: ETCD_UNIT,
        WAIT_SECONDS: waits.waitSeconds ?? MEMBERSHIP_WAIT_SECONDS,
        REPORT_EVERY_SECONDS: waits.reportEverySeconds ?? REPORT_EVERY_SECONDS,
        ...clientTlsSettings(spec),
    };
}

/** The settings of host/lib/membership.sh for one member: its own, its peer URL and the other members' endpoints. */
export function membershipSettings(
    spec: ClusterSpec,
    member: MemberSpec,
    waits: MembershipWaits = {},
): Record<string, string | number> {
    const { PEER_URL, PEER_ENDPOINTS } = memberEndpointSettings(spec, member);
    return { ...ownMembershipSettings(spec, member, waits), PEER_URL, PEER_ENDPOINTS };
}

/**
 * The leave script: removes this member from the cluster through the other members (only when
 * the rest keep quorum), then stops etcd. Installed on the host; run before the host goes away.
 */
export function renderLeaveScript(spec: ClusterSpec, member: MemberSpec, waits: MembershipWaits = {}): string {
    return renderBundle({
        purpose: "leave",
        description: [
            `Removes etcd member ${member.name} from cluster ${spec.clusterName}, keeping quorum, then stops it.`,
        ],
        settings: membershipSettings(spec, member, waits),
        libraries: ["lib/membership.sh"],
        readsJson: true,
        script: "etcd-aws-leave.sh",
    });
}

/** `write_host_file` of one file as an if condition (the heredoc follows the command line). */
function writeFile(file: HostFile, then: string): string {
    return `    if write_host_file ${file.path} ${file.mode} ${file.owner} ${heredoc(file.content)}\n    then\n        ${then}\n    fi`;
}

/**
 * Files of services beside etcd (a maintenance or backup timer, its unit and script): written
 * without owing etcd a restart, since etcd reads none of them, and each timer enabled after them.
 */
export interface MemberServices {
    readonly files: readonly HostFile[];
    /** systemd timers to enable (and start) once the files are written, e.g. "etcd-aws-defrag.timer". */
    readonly timers: readonly string[];
}

/**
 * Writes the member's files and environment file, then brings etcd up the way its state asks
 * (host/etcd-aws-launch.sh says how). Run with --bootstrap only on first creation: without it
 * the script never forms a second cluster. Running it again changes nothing.
 */
export function renderLaunchScript(
    spec: ClusterSpec,
    member: MemberSpec,
    files: readonly HostFile[] = [],
    waits: MembershipWaits = {},
    services: MemberServices = { files: [], timers: [] },
): string {
    const flags = renderMemberFlags(spec, member);
    const envFile: HostFile = {
        path: HOST_PATHS.envFile,
        mode: "0640",
        owner: "root:etcd",
        content: renderEnvFile(spec, member),
    };
    const leaveScript: HostFile = {
        path: HOST_PATHS.leaveScript,
        mode: "0755",
        owner: "root:root",
        content: renderLeaveScript(spec, member, waits),
    };
    const writes = shellFunction(
        "write_member_files",
        "The member's files; a changed one owes a restart (the leave script and the services' files do not).",
        [
            ...[...files, envFile].map((file) => writeFile(file, 'touch "$RESTART_PENDING"')),
            writeFile(leaveScript, ":"),
            ...(services.files.length > 0 ? ["    local units_changed=false"] : []),
            ...services.files.map((file) => writeFile(file, "units_changed=true")),
            ...(services.files.length > 0 ? ['    if "$units_changed"; then systemctl daemon-reload; fi'] : []),
            ...services.timers.map((timer) => `    systemctl enable --now --quiet ${timer}`),
        ],
    );
    return renderBundle({
        purpose: "launch",
        description: [
            `Configures and starts etcd member ${member.name} of cluster ${spec.clusterName} (${spec.mode} bootstrap).`,
            `Usage: launch [${BOOTSTRAP_ARG}]  (${BOOTSTRAP_ARG}: may form a new cluster; only on first creation)`,
        ],
        settings: {
            ...membershipSettings(spec, member, waits),
            OTHER_PEER_URLS: otherMembers(spec, member)
                .map((m) => peerUrl(spec, m))
                .join(","),
            DATA_DIR: spec.dataDir,
            JOIN_ENV_FILE: HOST_PATHS.joinEnvFile,
            RESTART_PENDING: HOST_PATHS.restartPending,
            BOOTSTRAP_ARG,
            BOOTSTRAP_ONLY_VARIABLES: flags
                .filter((flag) => BOOTSTRAP_ONLY_FLAGS.includes(flag.name))
                .map((flag) => envVarName(flag.name))
                .join(" "),
            PEER_CERT_FILE: spec.tls ? PKI_FILES.peerCert : "",
            PEER_KEY_FILE: spec.tls ? PKI_FILES.peerKey : "",
        },
        libraries: ["lib/membership.sh"],
        readsJson: true,
        definitions: [writes],
        script: "etcd-aws-launch.sh",
    });
}
