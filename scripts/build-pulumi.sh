#!/usr/bin/env bash
# Builds the Pulumi CLI (engine) and the Node.js language host from the pinned modules in
# tools/pulumi and tools/pulumi-nodejs into .tools/pulumi/bin/ (see tools/pulumi/README.md).
# Skipped when both are there and `pulumi version` reports the pinned release. Uses Go's default
# caches: a cold build downloads ~280 MB of modules and takes ~6 CPU minutes; a warm one relinks.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/.tools/pulumi/bin"
PULUMI_VERSION=v3.274.1
NODEJS_HOST_VERSION=v3.68.0
VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

log() { printf 'build-pulumi: %s\n' "$*" >&2; }

# True when <dir> holds a pulumi reporting the pinned release and the language host.
pulumi_built() {
    local dir=$1
    [ -x "$dir/pulumi" ] && [ -x "$dir/pulumi-language-nodejs" ] || return 1
    [ "$(PULUMI_SKIP_UPDATE_CHECK=true "$dir/pulumi" version 2>/dev/null)" = "$PULUMI_VERSION" ]
}

# The Go that bootstrap.sh provides (.tools/go when the machine had none), else the one on PATH.
go_command() {
    if [ -x "$ROOT/.tools/go/bin/go" ]; then
        printf '%s\n' "$ROOT/.tools/go/bin/go"
    else
        command -v go || { log "no Go found: run scripts/bootstrap.sh"; exit 1; }
    fi
}

# go build of <main package> in <module dir> with <version> stamped in, into <output>.
build_tool() {
    local go=$1 module=$2 main=$3 version=$4 output=$5
    (cd "$module" && GOFLAGS="-mod=readonly -buildvcs=false" nice -n 19 "$go" build -trimpath \
        -ldflags "-s -w -X $VERSION_VAR=$version" -o "$output" "$main")
}

pulumi_built "$BIN" && exit 0
log "building pulumi $PULUMI_VERSION and pulumi-language-nodejs $NODEJS_HOST_VERSION into $BIN"
started=$SECONDS
go=$(go_command)
mkdir -p "$(dirname "$BIN")"
# Its own staging directory: two bootstraps at once do not share a half build.
partial=$(mktemp -d "$BIN.partial.XXXXXX")
trap 'rm -rf "$partial"' EXIT
build_tool "$go" "$ROOT/tools/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_VERSION" "$partial/pulumi"
# Next to pulumi, the engine treats the host as bundled (no "using ... from \$PATH" warning).
build_tool "$go" "$ROOT/tools/pulumi-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
    "$NODEJS_HOST_VERSION" "$partial/pulumi-language-nodejs"
pulumi_built "$partial" || { log "the build in $partial does not report pulumi $PULUMI_VERSION"; exit 1; }
chmod 755 "$partial"
if ! pulumi_built "$BIN"; then
    rm -rf "$BIN"
    mv "$partial" "$BIN"
fi
log "built pulumi $PULUMI_VERSION in $((SECONDS - started)) s"
