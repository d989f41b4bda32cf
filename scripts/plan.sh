#!/usr/bin/env bash
# Offline plan for review: runs the program (index.ts) for a stack from stacks/Pulumi.<stack>.yaml
# under Pulumi's mock engine and prints what `pulumi up` would register, as markdown, with no
# cloud credentials and no Pulumi CLI. `--update` rewrites the committed plans/<stack>.md;
# `--running-version <release>` plans the change from a cluster that runs that release.
# Needs the npm dependencies (scripts/bootstrap.sh or npm ci).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ -x "$ROOT/.tools/node/bin/node" ]; then
    PATH="$ROOT/.tools/node/bin:$PATH"
fi
if [ ! -d "$ROOT/node_modules/@pulumi/pulumi" ]; then
    echo "plan: npm dependencies missing; run scripts/bootstrap.sh (or npm ci) first" >&2
    exit 1
fi
exec node --require ts-node/register/transpile-only plan/main.ts "$@"
