#!/usr/bin/env bash
# Runs every test: type check, shellcheck of the rendered scripts, the unit tests (Pulumi mocks
# and the pure configuration core), then the real-etcd suite on local hosts. Installs what it
# needs first (scripts/bootstrap.sh). `--unit` runs only the fast part.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"
export PATH="$ROOT/.tools/node/bin:$ROOT/node_modules/.bin:$PATH"

echo "== type check (tsc, node $(node --version))"
tsc --noEmit -p tsconfig.json

echo "== unit tests"
mocha 'test/**/*.test.ts' --ignore 'test/real/**'

if [ "${1:-}" != "--unit" ]; then
    echo "== real etcd on local hosts"
    mocha --timeout 600000 'test/real/**/*.test.ts'
fi
