#!/usr/bin/env bash
# Offline review of a change to a stack: the base (--base <git-ref>, default HEAD) deployed in record mode to a
# throwaway local cloud, the working tree previewed against it by the real Pulumi engine, each step with the
# properties causing it and a WARNING for each step that endangers the cluster (localcloud/preview-main.ts).
#   scripts/preview.sh <stack> [--base <git-ref>] [--head <git-ref>] [--set key=value]... [--publish-image] [--json]
#       [--engine-json <file>]
# Needs the npm dependencies and the engine (scripts/bootstrap.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -d "$ROOT/node_modules/@pulumi/pulumi" ] || [ ! -x "$ROOT/.tools/pulumi/bin/pulumi" ]; then
    echo "preview: npm dependencies or the Pulumi engine missing; run scripts/bootstrap.sh first" >&2
    exit 1
fi
TS_NODE_PROJECT="$ROOT/tsconfig.json" exec "$ROOT/.tools/node/bin/node" \
    --require "$ROOT/node_modules/ts-node/register/transpile-only" "$ROOT/localcloud/preview-main.ts" "$@"
