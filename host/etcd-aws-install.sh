#!/usr/bin/env bash
# etcd-aws install: prepares a member host for etcd: the etcd system user, the data volume
# (formatted once, mounted by filesystem UUID), the release (downloaded, verified against its
# SHA256SUMS and the pinned digest when given, unpacked once per version), the binaries linked
# into BIN_DIR, the directories and the systemd unit. Safe to run again: each step checks first.
# Expects: ETCD_VERSION, RELEASE_URL (holding TARBALL and SHA256SUMS), TARBALL, PINNED_SHA256
# (empty: none), RELEASE_DIR, DATA_VOLUME_ID (empty: no data volume), DATA_MOUNT, DATA_DIR,
# CONFIG_DIR, PKI_DIR, BIN_DIR, UNIT_FILE; and the function write_unit_file, which the rendered
# bundle defines (the unit as a here-document).
set -euo pipefail
LOG_TAG=install
if ! declare -F write_if_changed >/dev/null; then # run from a checkout: read the library
    # shellcheck source-path=SCRIPTDIR
    source "${BASH_SOURCE[0]%/*}/lib/common.sh"
fi
require_settings ETCD_VERSION RELEASE_URL TARBALL PINNED_SHA256 RELEASE_DIR DATA_VOLUME_ID DATA_MOUNT DATA_DIR \
    CONFIG_DIR PKI_DIR BIN_DIR UNIT_FILE
under_root RELEASE_DIR DATA_MOUNT DATA_DIR CONFIG_DIR PKI_DIR BIN_DIR UNIT_FILE

ensure_etcd_user() {
    if ! id -u etcd >/dev/null 2>&1; then
        useradd --system --home-dir "$DATA_MOUNT" --no-create-home --shell /usr/sbin/nologin etcd
        log "created system user etcd"
    fi
}

# The data volume: formatted only when blank, mounted by filesystem UUID on every boot.
prepare_data_volume() {
    [ -n "$DATA_VOLUME_ID" ] || return 0
    local device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID//-/}" waited=0
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
        printf 'UUID=%s %s ext4 defaults,nofail,noatime 0 2\n' "$uuid" "$DATA_MOUNT" >>/etc/fstab
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

ensure_etcd_user
prepare_data_volume
install_release
link_binaries
prepare_directories
install_unit
log "etcd $ETCD_VERSION is installed"
