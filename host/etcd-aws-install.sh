#!/usr/bin/env bash
# etcd-aws install: prepares a member host for etcd: the etcd system user, the data volume
# (found as an NVMe or Xen device, formatted once, mounted by filesystem UUID, grown with the
# volume), the disk check (the volume's fdatasync p99, as etcd's hardware guide measures it),
# the release (downloaded, verified against its SHA256SUMS and the pinned digest when given,
# unpacked once per version), the binaries linked into BIN_DIR, the directories and the
# systemd unit. Safe to run again: each step checks first.
# Expects: ETCD_VERSION, RELEASE_URL (holding TARBALL and SHA256SUMS), TARBALL, PINNED_SHA256
# (empty: none), RELEASE_DIR, INSTANCE_ID (empty: not known), DATA_VOLUME_ID (empty: no data
# volume), DATA_DEVICE_NAME (the attachment's), DATA_VOLUME_SIZE_GIB (empty: not known),
# DATA_MOUNT, DATA_DIR, FSTAB, CONFIG_DIR, PKI_DIR, BIN_DIR, UNIT_FILE, UNIT, DISK_CHECK (warn, fail
# or off), DISK_CHECK_LIMIT_MS, DISK_CHECK_SECONDS, DISK_CHECK_RECORD, MEMBERSHIP_LOCK (yes: the
# settings of lib/membership.sh are given too, but PEER_URL and PEER_ENDPOINTS, which come from
# this member's etcd, and a running member may be stopped to grow its filesystem);
# and the functions write_unit_file (the unit as a here-document) and disk_probe
# (lib/disk_probe.py), which the rendered bundle defines.
set -euo pipefail
LOG_TAG=install
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the libraries
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/membership.sh"
    disk_probe() { python3 "${BASH_SOURCE[0]%/*}/lib/disk_probe.py" "$@"; }
fi
require_settings ETCD_VERSION RELEASE_URL TARBALL PINNED_SHA256 RELEASE_DIR INSTANCE_ID DATA_VOLUME_ID \
    DATA_DEVICE_NAME DATA_VOLUME_SIZE_GIB DATA_MOUNT DATA_DIR FSTAB CONFIG_DIR PKI_DIR BIN_DIR UNIT_FILE \
    UNIT DISK_CHECK DISK_CHECK_LIMIT_MS DISK_CHECK_SECONDS DISK_CHECK_RECORD MEMBERSHIP_LOCK
under_root RELEASE_DIR DATA_MOUNT DATA_DIR FSTAB CONFIG_DIR PKI_DIR BIN_DIR UNIT_FILE DISK_CHECK_RECORD
if [ "$MEMBERSHIP_LOCK" = yes ]; then
    require_settings MEMBER_NAME LOCAL_ENDPOINT LOCK_KEY WAIT_SECONDS REPORT_EVERY_SECONDS \
        CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
    under_root CA_FILE CLIENT_CERT_FILE CLIENT_KEY_FILE
    use_client_tls
fi

MOUNT_OPTIONS=defaults,nofail,noatime

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

# Grows the filesystem on device $1 to the device's size with resize2fs: a filesystem that is not
# mounted is checked first (resize2fs asks for a fresh e2fsck). On failure prints why and fails.
resize_filesystem() {
    local device=$1 output status=0
    if ! mountpoint -q "$DATA_MOUNT"; then
        output=$(e2fsck -f -p "$device" 2>&1) || status=$?
        if [ "$status" -ge 4 ]; then # 1 and 2: errors found and corrected
            printf 'e2fsck exited with %s: %s\n' "$status" "${output//$'\n'/ }"
            return 1
        fi
    fi
    if ! output=$(resize2fs "$device" 2>&1); then
        printf '%s\n' "${output##*$'\n'}" # resize2fs says why last
        return 1
    fi
}

mount_data_volume() {
    mount -o "$MOUNT_OPTIONS" "$1" "$DATA_MOUNT"
}

# Grows the mounted filesystem on $1 with it unmounted; mounts it again, grown or not.
grow_unmounted() {
    local device=$1 why
    if ! why=$(umount "$DATA_MOUNT" 2>&1); then
        log "could not unmount $DATA_MOUNT to grow its filesystem: $why"
        return 1
    fi
    if ! why=$(resize_filesystem "$device"); then
        log "could not grow the filesystem on $device offline: $why"
        mount_data_volume "$device"
        return 1
    fi
    mount_data_volume "$device"
}

# Stops this member's etcd, grows its filesystem offline and starts it again, waiting until it
# serves and (with other members) has caught up with its leader. Run under the membership lock,
# and only once every other member is healthy and this one does not lead: one member down at a
# time, and no election for it. Should the grow fail, etcd starts again on the old size.
grow_with_etcd_stopped() {
    local device=$1 own_id grown=yes
    if [ -n "$PEER_ENDPOINTS" ]; then
        own_id=$(local_member_id)
        ensure_others_healthy "$own_id"
        hand_over_leadership "$own_id"
    fi
    log "stopping etcd to grow its filesystem offline"
    systemctl stop "$UNIT"
    grow_unmounted "$device" || grown=no
    systemctl start --no-block "$UNIT"
    wait_until_healthy
    if [ -n "$PEER_ENDPOINTS" ]; then
        wait_until_caught_up
    fi
    [ "$grown" = yes ]
}

# Grows the filesystem to the device when the volume was made larger: before mounting when not
# mounted yet (a new instance of a grown volume); online when mounted; offline when the kernel
# refuses online growth (resize2fs needs CAP_SYS_RESOURCE for it, which a container may lack):
# etcd, when running, is stopped for it under the membership lock (grow_with_etcd_stopped).
grow_filesystem() {
    local device=$1 count size grown started=$SECONDS how why
    read -r count size < <(filesystem_blocks "$device")
    [ "$(($(device_bytes "$device") / size))" -gt "$count" ] || return 0
    if ! mountpoint -q "$DATA_MOUNT"; then
        how="before mounting it"
        if ! why=$(resize_filesystem "$device"); then
            log "could not grow the filesystem on $device: $why"
            exit 1
        fi
    elif why=$(resize_filesystem "$device"); then
        how=online
    else
        log "the kernel refused to grow the mounted filesystem on $device online ($why): growing it offline"
        if ! systemctl is-active --quiet "$UNIT"; then
            how="offline, etcd not running"
            grow_unmounted "$device"
        elif [ "$MEMBERSHIP_LOCK" = yes ]; then
            how="offline, etcd stopped under the membership lock"
            if ! PEER_ENDPOINTS=$(peer_endpoints_from_own_etcd); then
                log "etcd runs but does not list its members: not stopping it to grow the filesystem"
                exit 1
            fi
            with_cluster_lock --stopping-own-etcd grow_with_etcd_stopped "$device"
        else
            log "this install has no membership settings, so it cannot stop etcd to grow the filesystem"
            exit 1
        fi
    fi
    read -r grown _ < <(filesystem_blocks "$device")
    log "grew the filesystem on $device from $((count * size / 1048576)) MiB to $((grown * size / 1048576)) MiB ($how, $((SECONDS - started)) s)"
}

# The data volume: formatted only when blank, mounted by filesystem UUID on every boot, grown
# when the volume grew.
prepare_data_volume() {
    [ -n "$DATA_VOLUME_ID" ] || return 0
    local device waited=0 uuid
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
        printf 'UUID=%s %s ext4 %s 0 2\n' "$uuid" "${DATA_MOUNT#"$ETCD_AWS_ROOT"}" "$MOUNT_OPTIONS" >>"$FSTAB"
    fi
    # Before mounting when not mounted yet (a new instance of a grown volume), online otherwise.
    grow_filesystem "$device"
    if ! mountpoint -q "$DATA_MOUNT"; then
        mount_data_volume "$device"
        log "mounted $DATA_VOLUME_ID ($device) on $DATA_MOUNT"
    fi
}

# The data volume's fdatasync latency (lib/disk_probe.py: etcd's hardware guide's fio job, bounded to
# DISK_CHECK_SECONDS), reported on stdout for the deployment's output. A p99 above etcd's limit is
# a warning, or (DISK_CHECK=fail) ends the install before etcd is installed on that volume. The
# figures are kept on the volume (DISK_CHECK_RECORD, at its root) with its ID and size: a later
# install on the same volume at the same size (a new release, a replaced instance) reports them
# again instead of measuring for DISK_CHECK_SECONDS once more, one member after the other, on every
# roll.
check_disk() {
    local measured p99 writes verdict volume size
    [ "$DISK_CHECK" != off ] || return 0
    [ -n "$DATA_VOLUME_ID" ] || return 0
    if read -r volume size measured <"$DISK_CHECK_RECORD" 2>/dev/null && [ "$volume" = "$DATA_VOLUME_ID" ] &&
        [ "$size" = "${DATA_VOLUME_SIZE_GIB:--}" ]; then
        log "the data volume's fsync latency was measured at this size already: reporting those figures"
    elif measured=$(disk_probe "$DATA_MOUNT" "$DISK_CHECK_LIMIT_MS" "$DISK_CHECK_SECONDS" 2>&1); then
        printf '%s %s %s\n' "$DATA_VOLUME_ID" "${DATA_VOLUME_SIZE_GIB:--}" "$measured" >"$DISK_CHECK_RECORD"
    else
        log "could not measure the data volume's fsync latency: ${measured//$'\n'/ }"
        [ "$DISK_CHECK" != fail ] || exit 1
        return 0
    fi
    read -r p99 writes verdict <<<"$measured"
    printf 'etcd-aws disk check: fsync p99 %s ms over %s writes (etcd asks <= %s ms): %s\n' \
        "$p99" "$writes" "$DISK_CHECK_LIMIT_MS" "$verdict"
    [ "$verdict" = slow ] || return 0
    if [ "$DISK_CHECK" = fail ]; then
        log "the data volume's fsync p99 is $p99 ms, above etcd's $DISK_CHECK_LIMIT_MS ms, and diskCheck is fail: refusing to install etcd on it (a gp3 or io2 volume with more IOPS, or diskCheck warn)"
        exit 1
    fi
    log "warning: the data volume's fsync p99 is $p99 ms, above etcd's $DISK_CHECK_LIMIT_MS ms: expect slow commits and leader elections (diskCheck fail refuses such a volume)"
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
check_disk
install_release
link_binaries
prepare_directories
install_unit
log "etcd $ETCD_VERSION is installed"
