// What installs etcd on a member: the systemd unit and the settings of host/etcd-aws-install.sh
// (user, directories, data volume, disk check, verified release download, unit). The same text
// runs on EC2 and on local hosts.
import { ETCD_UNIT, HOST_PATHS } from "./host-contract";
import { MembershipWaits, ownMembershipSettings } from "./launch";
import { ClusterSpec, DiskCheck, MemberSpec } from "./model";
import { heredoc, hostScript, renderBundle, shellFunction } from "./shell";
import { EtcdVersion } from "./versions";

export type CpuArchitecture = "amd64" | "arm64";

/** Graviton families (a1, t4g, m6g, c7gn, r8gd, ...) are arm64; every other family is amd64. */
export function cpuArchitecture(instanceType: string): CpuArchitecture {
    const family = instanceType.replace(/\..*$/s, "");
    return /^(a1|[a-z]+\d+g[a-z]*)$/.test(family) ? "arm64" : "amd64";
}

export interface ReleaseSpec {
    readonly version: EtcdVersion;
    readonly arch: CpuArchitecture;
    /** Base URL holding `v<version>/etcd-v<version>-linux-<arch>.tar.gz` and `v<version>/SHA256SUMS`. */
    readonly mirrorBaseUrl: string;
    /** Optional expected SHA-256 of the tarball, checked in addition to SHA256SUMS. */
    readonly sha256?: string;
}

export function releaseTarball(release: ReleaseSpec): string {
    return `etcd-v${release.version.text}-linux-${release.arch}.tar.gz`;
}

export function releaseUrl(release: ReleaseSpec): string {
    return `${release.mirrorBaseUrl}/v${release.version.text}`;
}

/**
 * The etcd unit, the same on every member: flags come from the environment file, so a flag
 * change rewrites that file and never the unit. Type=notify makes "active" mean "serving".
 */
export function renderSystemdUnit(): string {
    return [
        "[Unit]",
        "Description=etcd distributed key-value store",
        "Documentation=https://etcd.io/docs/",
        "Wants=network-online.target",
        "After=network-online.target",
        `RequiresMountsFor=${HOST_PATHS.dataMount}`,
        "",
        "[Service]",
        "Type=notify",
        "User=etcd",
        "Group=etcd",
        `EnvironmentFile=${HOST_PATHS.envFile}`,
        // Present only on a member that joined a running cluster; overrides the bootstrap flags.
        `EnvironmentFile=-${HOST_PATHS.joinEnvFile}`,
        `ExecStart=${HOST_PATHS.binDir}/etcd`,
        "Restart=always",
        "RestartSec=10s",
        // A new member waits for its peers before it reports ready; the health gate bounds that.
        "TimeoutStartSec=0",
        "LimitNOFILE=40000",
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/** The device name the data volume's attachment asks for; Xen instances show it as /dev/xvdf. */
export const DATA_DEVICE_NAME = "/dev/sdf";

/** etcd's hardware guide: the data disk's fdatasync p99 should be at most this. */
export const FSYNC_P99_LIMIT_MS = 10;

/**
 * How long the install's disk check writes (host/lib/disk_probe.py stops earlier after the
 * guide's 22 MiB, later only to reach 100 writes on a slow disk, and after 3 times this at most).
 */
export const DISK_CHECK_SECONDS = 2;

/** The cluster a member's install belongs to: for the membership lock of an offline filesystem grow. */
export interface InstallCluster {
    readonly spec: ClusterSpec;
    readonly member: MemberSpec;
    readonly waits?: MembershipWaits;
}

export interface InstallScriptInput {
    readonly release: ReleaseSpec;
    /** EBS volume that holds the data directory (formatted once, mounted by UUID). Empty: none. */
    readonly dataVolumeId?: string;
    /** The attachment's device name (default DATA_DEVICE_NAME): where a Xen instance shows the volume. */
    readonly dataDeviceName?: string;
    /**
     * The volume's size: a new size changes the script, whose re-run grows the filesystem to
     * the grown volume (the script reads the device's own size).
     */
    readonly volumeSizeGiB?: number;
    /** The instance the script runs on: a replaced instance changes the script, so it runs again there. */
    readonly instanceId?: string;
    /** Which member and cluster, for the header an operator reads. */
    readonly memberName: string;
    readonly clusterName: string;
    /**
     * What the data volume's measured fsync p99 above FSYNC_P99_LIMIT_MS does (default "warn":
     * the install says so and goes on; "fail" ends it before etcd is installed; "off": not measured).
     */
    readonly diskCheck?: DiskCheck;
    /**
     * The member's cluster: when the kernel refuses to grow the mounted filesystem online, the
     * install stops etcd for an offline grow, one member at a time under the membership lock.
     * Without it such an install fails (nothing else may stop a running member).
     */
    readonly cluster?: InstallCluster;
}

export function renderInstallScript(input: InstallScriptInput): string {
    const { release, cluster } = input;
    return renderBundle({
        purpose: "install",
        description: [
            `Installs etcd ${release.version.text} (${release.arch}) on ${input.memberName} of cluster ${input.clusterName}:`,
            "etcd user, data volume, release verified against SHA256SUMS, binaries and systemd unit.",
        ],
        settings: {
            ETCD_VERSION: release.version.text,
            RELEASE_URL: releaseUrl(release),
            TARBALL: releaseTarball(release),
            PINNED_SHA256: release.sha256 ?? "",
            RELEASE_DIR: `${HOST_PATHS.releasesDir}/v${release.version.text}`,
            INSTANCE_ID: input.instanceId ?? "",
            DATA_VOLUME_ID: input.dataVolumeId ?? "",
            DATA_DEVICE_NAME: input.dataDeviceName ?? DATA_DEVICE_NAME,
            DATA_VOLUME_SIZE_GIB: input.volumeSizeGiB ?? "",
            DATA_MOUNT: HOST_PATHS.dataMount,
            DATA_DIR: HOST_PATHS.dataDir,
            FSTAB: "/etc/fstab",
            CONFIG_DIR: HOST_PATHS.configDir,
            PKI_DIR: HOST_PATHS.pkiDir,
            BIN_DIR: HOST_PATHS.binDir,
            UNIT_FILE: HOST_PATHS.unitFile,
            UNIT: ETCD_UNIT,
            DISK_CHECK: input.diskCheck ?? "warn",
            DISK_CHECK_LIMIT_MS: FSYNC_P99_LIMIT_MS,
            DISK_CHECK_SECONDS,
            // On the volume itself: its figures travel with it to a replaced instance.
            DISK_CHECK_RECORD: `${HOST_PATHS.dataMount}/.etcd-aws-disk-check`,
            MEMBERSHIP_LOCK: cluster ? "yes" : "no",
            // The member's own: the other members' endpoints come from its etcd, so scaling changes no install.
            ...(cluster ? ownMembershipSettings(cluster.spec, cluster.member, cluster.waits) : {}),
        },
        definitions: [
            shellFunction("write_unit_file", "The systemd unit (the same on every member).", [
                `    write_if_changed "$UNIT_FILE" 0644 root:root ${heredoc(renderSystemdUnit(), "UNIT")}`,
            ]),
            shellFunction("disk_probe", "host/lib/disk_probe.py: DIR LIMIT_MS SECONDS -> P99_MS WRITES ok|slow.", [
                `    python3 - "$@" ${heredoc(hostScript("lib/disk_probe.py"), "DISK_PROBE_PY")}`,
            ]),
        ],
        ...(cluster ? { libraries: ["lib/membership.sh" as const], readsJson: true } : {}),
        script: "etcd-aws-install.sh",
    });
}
