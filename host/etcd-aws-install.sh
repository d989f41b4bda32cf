#!/usr/bin/env bash
# etcd-aws install: prepares a member host for etcd: the etcd system user, the data volume
# (found as an NVMe or Xen device, formatted once, mounted by filesystem UUID, grown with the
# volume), the release (downloaded, verified against its SHA256SUMS and the pinned digest when
# given, unpacked once per version), the binaries linked into BIN_DIR, the directories and the
# systemd unit. Safe to run again: each step checks first.
# Expects: ETCD_VERSION, RELEASE_URL (holding TARBALL and SHA256SUMS), TARBALL, PINNED_SHA256
# (empty: none), RELEASE_DIR, INSTANCE_ID (empty: not known), DATA_VOLUME_ID (empty: no data
# volume), DATA_DEVICE_NAME (the attachment's), DATA_VOLUME_SIZE_GIB (empty: not known),
# DATA_MOUNT, DATA_DIR, FSTAB, CONFIG_DIR, PKI_DIR, BIN_DIR, UNIT_FILE; and the function
# write_unit_file, which the rendered bundle defines (the unit as a here-document).
set -euo pipefail
LOG_TAG=install
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings ETCD_VERSION RELEASE_URL TARBALL PINNED_SHA256 RELEASE_DIR INSTANCE_ID DATA_VOLUME_ID \
    DATA_DEVICE_NAME DATA_VOLUME_SIZE_GIB DATA_MOUNT DATA_DIR FSTAB CONFIG_DIR PKI_DIR BIN_DIR UNIT_FILE
under_root RELEASE_DIR DATA_MOUNT DATA_DIR FSTAB CONFIG_DIR PKI_DIR BIN_DIR UNIT_FILE

ensure_etcd_user() {
    if ! id -u etcd >/dev/null 2>&1; then
        useradd --system --home-dir "$DATA_MOUNT" --no-create-home --shell /usr/sbin/nologin etcd
        log "created system user etcd"
    fi
}

# The data volume's device: NVMe (Nitro instances) by the volume's ID, else the attachment's
# device name as Xen shows it (/dev/sdf as /dev/xvdf) or as given. Empty until it appears.
data_device() {
    local candidate
    for candidate in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID//-/}" \
        "${DATA_DEVICE_NAME/#\/dev\/sd//dev/xvd}" "$DATA_DEVICE_NAME"; do
        if [ -e "$ETCD_AWS_ROOT$candidate" ]; then
            printf '%s\n' "$ETCD_AWS_ROOT$candidate"
            return 0
        fi
    done
}

device_bytes() {
    if [ -b "$1" ]; then blockdev --getsize64 "$1"; else stat -L -c %s "$1"; fi
}

# "BLOCK_COUNT BLOCK_SIZE" of the ext4 filesystem on a device.
filesystem_blocks() {
    tune2fs -l "$1" | awk -F: '/^Block count:/ { count = $2 } /^Block size:/ { size = $2 } END { print count + 0, size + 0 }'
}

# Waits (bounded) until the device shows the volume's size: EBS shows a new size on the instance
# some seconds after the modification.
wait_for_volume_size() {
    local device=$1 wanted waited=0
    [ -n "$DATA_VOLUME_SIZE_GIB" ] || return 0
    wanted=$((DATA_VOLUME_SIZE_GIB * 1024 * 1024 * 1024))
    until [ "$(device_bytes "$device")" -ge "$wanted" ]; do
        if [ "$waited" -ge 300 ]; then
            log "$device is $(device_bytes "$device") bytes, not the volume's $DATA_VOLUME_SIZE_GIB GiB, after 300 s"
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
}

# Grows the filesystem to the device when the volume was made larger: online when mounted,
# otherwise checked first (resize2fs asks for a fresh e2fsck of an unmounted filesystem).
grow_filesystem() {
    local device=$1 count size output
    read -r count size < <(filesystem_blocks "$device")
    [ "$(($(device_bytes "$device") / size))" -gt "$count" ] || return 0
    if ! mountpoint -q "$DATA_MOUNT" && ! output=$(e2fsck -f -p "$device" 2>&1); then
        log "e2fsck of $device before growing it failed: $output"
        exit 1
    fi
    if ! output=$(resize2fs "$device" 2>&1); then
        log "could not grow the filesystem on $device: ${output//$'\n'/ }"
        exit 1
    fi
    local grown
    read -r grown _ < <(filesystem_blocks "$device")
    if [ "$grown" -gt "$count" ]; then
        log "grew the filesystem on $device from $((count * size / 1048576)) MiB to $((grown * size / 1048576)) MiB"
    fi
}

# The data volume: formatted only when blank, mounted by filesystem UUID on every boot, grown
# when the volume grew.
prepare_data_volume() {
    [ -n "$DATA_VOLUME_ID" ] || return 0
    local device waited=0 uuid mount_options=defaults,nofail,noatime
    until device=$(data_device) && [ -n "$device" ]; do
        if [ "$waited" -ge 120 ]; then
            log "data volume $DATA_VOLUME_ID did not appear (as NVMe by its ID, or as $DATA_DEVICE_NAME) within 120 s"
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
    if ! blkid "$device" >/dev/null 2>&1; then
        mkfs.ext4 -q -L etcd-data "$device"
        log "formatted $device"
    fi
    wait_for_volume_size "$device"
    uuid=$(blkid -s UUID -o value "$device")
    mkdir -p "$DATA_MOUNT"
    if ! grep -q "UUID=$uuid " "$FSTAB"; then
        printf 'UUID=%s %s ext4 %s 0 2\n' "$uuid" "${DATA_MOUNT#"$ETCD_AWS_ROOT"}" "$mount_options" >>"$FSTAB"
    fi
    # Before mounting when not mounted yet (a new instance of a grown volume), online otherwise.
    grow_filesystem "$device"
    if ! mountpoint -q "$DATA_MOUNT"; then
        mount -o "$mount_options" "$device" "$DATA_MOUNT"
        log "mounted $DATA_VOLUME_ID ($device) on $DATA_MOUNT"
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
    log "downloading $(without_userinfo "$RELEASE_URL")/$TARBALL"
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
    if ! printf '%s  %s\n' "$expected" "$work/$TARBALL" | sha256sum --check --status; then
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
    mkdir -p "$BIN_DIR"
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
    install -d -m 0750 -o etcd -g etcd "$PKI_DIR"
}

install_unit() {
    mkdir -p "$(dirname "$UNIT_FILE")"
    if write_unit_file; then
        systemctl daemon-reload
    fi
}

log "installing etcd $ETCD_VERSION on ${INSTANCE_ID:-this host}"
ensure_etcd_user
prepare_data_volume
install_release
link_binaries
prepare_directories
install_unit
log "etcd $ETCD_VERSION is installed"
