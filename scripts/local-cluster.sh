#!/usr/bin/env bash
# A real 3-member etcd cluster on this machine (127.0.1.10-12), deployed from the configuration
# core's rendered artifacts on local hosts, and left running. Running it again, or with --down,
# stops it. `up`, `preview` and `destroy` run the real `pulumi up` / `preview --diff` / `destroy`
# of the program on a local stack against the local cloud instead (localcloud/stack.ts).
# Installs what it needs first (scripts/bootstrap.sh).
#   scripts/local-cluster.sh [--mode static|dns|discovery] [--version 3.4|3.5] [--down]
#   scripts/local-cluster.sh up|preview|destroy [--stack local|local-<name>] [--set key=value]...
#   scripts/local-cluster.sh backup [--stack local|local-<name>]   (a backup now, as the timer takes it; prints its URI)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/bootstrap.sh"
ENTRY=$ROOT/local/cli.ts
if [ "${1:-}" = backup ]; then
    shift
    ENTRY=$ROOT/localcloud/backup-cli.ts
fi
# ts-node reads the repository's tsconfig wherever the command is run from.
TS_NODE_PROJECT="$ROOT/tsconfig.json" exec "$ROOT/.tools/node/bin/node" --require "$ROOT/node_modules/ts-node/register/transpile-only" "$ENTRY" "$@"
