// What installs etcd on a member: the systemd unit and the install script (user, directories,
// data volume, verified release download, unit). The same text runs on EC2 and on local hosts.
import { HOST_PATHS } from "./model";
import { assignments, heredoc, scriptPrelude } from "./shell";
import { EtcdVersion } from "./versions";

export type CpuArchitecture = "amd64" | "arm64";

/** Graviton families (a1, t4g, m6g, c7gn, r8gd, ...) are arm64; every other family is amd64. */
export function cpuArchitecture(instanceType: string): CpuArchitecture {
    const family = instanceType.split(".")[0];
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

export interface InstallScriptInput {
    readonly release: ReleaseSpec;
    /** EBS volume that holds the data directory (formatted once, mounted by UUID). Empty: none. */
    readonly dataVolumeId?: string;
    /** Which member and cluster, for the header an operator reads. */
    readonly memberName: string;
    readonly clusterName: string;
}

export function renderInstallScript(input: InstallScriptInput): string {
    const { release } = input;
    const settings = assignments({
        ETCD_VERSION: release.version.text,
        RELEASE_URL: releaseUrl(release),
        TARBALL: releaseTarball(release),
        PINNED_SHA256: release.sha256 ?? "",
        RELEASE_DIR: `${HOST_PATHS.releasesDir}/v${release.version.text}`,
        DATA_VOLUME_ID: input.dataVolumeId ?? "",
        DATA_MOUNT: HOST_PATHS.dataMount,
        DATA_DIR: HOST_PATHS.dataDir,
        CONFIG_DIR: HOST_PATHS.configDir,
        BIN_DIR: HOST_PATHS.binDir,
        UNIT_FILE: HOST_PATHS.unitFile,
    });
    return [
        scriptPrelude("install", [
            `Installs etcd ${release.version.text} (${release.arch}) on ${input.memberName} of cluster ${input.clusterName}:`,
            "etcd user, data volume, release verified against SHA256SUMS, binaries and systemd unit.",
        ]),
        settings,
        "",
        `ensure_etcd_user() {
    if ! id -u etcd >/dev/null 2>&1; then
        useradd --system --home-dir "$DATA_MOUNT" --no-create-home --shell /usr/sbin/nologin etcd
        log "created system user etcd"
    fi
}

# The data volume: formatted only when blank, mounted by filesystem UUID on every boot.
prepare_data_volume() {
    [ -n "$DATA_VOLUME_ID" ] || return 0
    local device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_\${DATA_VOLUME_ID//-/}" waited=0
    until [ -e "$device" ]; do
        if [ "$waited" -ge 120 ]; then
            log "data volume $DATA_VOLUME_ID did not appear as $device within 120 s"
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
    if ! blkid "$device" >/dev/null 2>&1; then
        mkfs.ext4 -q -L etcd-data "$device"
        log "formatted $device"
    fi
    local uuid
    uuid=$(blkid -s UUID -o value "$device")
    mkdir -p "$DATA_MOUNT"
    if ! grep -q "UUID=$uuid " /etc/fstab; then
        printf 'UUID=%s %s ext4 defaults,nofail,noatime 0 2\\n' "$uuid" "$DATA_MOUNT" >>/etc/fstab
    fi
    if ! mountpoint -q "$DATA_MOUNT"; then
        mount "$DATA_MOUNT"
        log "mounted $DATA_VOLUME_ID on $DATA_MOUNT"
    fi
}

# Download, verify against the release's SHA256SUMS (and the pinned digest when given), unpack.
# (A subshell, so the EXIT trap cleans the download directory whatever happens.)
install_release() (
    if [ -x "$RELEASE_DIR/etcd" ]; then
        log "etcd $ETCD_VERSION is already in $RELEASE_DIR"
        return 0
    fi
    local work expected
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    log "downloading $RELEASE_URL/$TARBALL"
    curl -fsSL --retry 5 --retry-delay 2 --retry-connrefused -o "$work/$TARBALL" "$RELEASE_URL/$TARBALL"
    curl -fsSL --retry 5 --retry-delay 2 --retry-connrefused -o "$work/SHA256SUMS" "$RELEASE_URL/SHA256SUMS"
    expected=$(awk -v file="$TARBALL" '$2 == file || $2 == "*" file { print $1 }' "$work/SHA256SUMS")
    if [ -z "$expected" ]; then
        log "SHA256SUMS of $ETCD_VERSION has no line for $TARBALL; refusing to install"
        exit 1
    fi
    if [ -n "$PINNED_SHA256" ] && [ "$PINNED_SHA256" != "$expected" ]; then
        log "SHA256SUMS says $expected but the pinned digest is $PINNED_SHA256; refusing to install"
        exit 1
    fi
    if ! printf '%s  %s\\n' "$expected" "$work/$TARBALL" | sha256sum --check --status; then
        log "checksum mismatch for $TARBALL (expected $expected); refusing to install"
        exit 1
    fi
    rm -rf "$RELEASE_DIR.partial"
    mkdir -p "$RELEASE_DIR.partial"
    tar -xzf "$work/$TARBALL" -C "$RELEASE_DIR.partial" --strip-components=1 --no-same-owner
    mv "$RELEASE_DIR.partial" "$RELEASE_DIR"
    log "installed etcd $ETCD_VERSION in $RELEASE_DIR"
)

link_binaries() {
    local tool
    for tool in etcd etcdctl etcdutl; do
        if [ -x "$RELEASE_DIR/$tool" ] && [ "$(readlink "$BIN_DIR/$tool" || true)" != "$RELEASE_DIR/$tool" ]; then
            ln -sfn "$RELEASE_DIR/$tool" "$BIN_DIR/$tool"
            log "linked $BIN_DIR/$tool -> $RELEASE_DIR/$tool"
        fi
    done
}

prepare_directories() {
    install -d -m 0700 -o etcd -g etcd "$DATA_MOUNT" "$DATA_DIR"
    install -d -m 0750 -o root -g etcd "$CONFIG_DIR"
    install -d -m 0750 -o etcd -g etcd "$CONFIG_DIR/pki"
}

install_unit() {
    mkdir -p "$(dirname "$UNIT_FILE")"
    if write_if_changed "$UNIT_FILE" 0644 root:root ${heredoc(renderSystemdUnit(), "UNIT")}
    then
        systemctl daemon-reload
    fi
}

ensure_etcd_user
prepare_data_volume
install_release
link_binaries
prepare_directories
install_unit
log "etcd $ETCD_VERSION is installed"
`,
    ].join("\n");
}
