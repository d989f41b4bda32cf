#!/usr/bin/env bash
# Runs every test: type check, lint and format check, the unit tests (pure configuration core
# and the resource graph under Pulumi mocks), the host scripts against stand-ins, the real
# Pulumi engine with the local providers (test/**/*engine.test.ts), the package as others use
# it (npm pack, a consumer program, the cross-language schema), then the real-etcd suite on
# local hosts.
# Installs what it needs first (scripts/bootstrap.sh). `--unit` runs only the first four.
# Ends with "N passed, N failed".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"
export PATH="$ROOT/.tools/node/bin:$ROOT/node_modules/.bin:$PATH"

passed=0
failed=0
summary() { printf '%d passed, %d failed\n' "$passed" "$failed"; }
trap summary EXIT

# Runs mocha with the given arguments and adds its counts to the totals.
run_mocha() {
    local log status
    log=$(mktemp)
    set +e
    mocha "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    passed=$((passed + $(sed -n 's/^ *\([0-9][0-9]*\) passing.*/\1/p' "$log" | tail -1 | grep . || echo 0)))
    failed=$((failed + $(sed -n 's/^ *\([0-9][0-9]*\) failing.*/\1/p' "$log" | tail -1 | grep . || echo 0)))
    rm -f "$log"
    return "$status"
}

echo "== type check (tsc, node $(node --version))"
tsc --noEmit -p tsconfig.json

echo "== lint and format (eslint, prettier --check)"
npm run --silent lint

echo "== unit tests"
run_mocha --parallel --jobs 2 'test/**/*.test.ts' --ignore 'test/real/**' --ignore 'test/package/**' \
    --ignore 'test/**/*engine.test.ts' --ignore 'test/host/**'

echo "== host scripts (rendered bash under a temporary root, stand-in etcdctl and systemctl)"
run_mocha --parallel --jobs 2 'test/host/**/*.test.ts'

if [ "${1:-}" != "--unit" ]; then
    echo "== the real Pulumi engine (local providers, record mode)"
    run_mocha --timeout 600000 'test/**/*engine.test.ts'
fi

if [ "${1:-}" != "--unit" ]; then
    echo "== the package as others use it"
    run_mocha --timeout 120000 'test/package/**/*.test.ts'

    echo "== real etcd on local hosts"
    # One retry: a scenario on real processes can lose a race on a busy machine; a fault that
    # is real fails twice.
    run_mocha --timeout 600000 --retries 1 'test/real/**/*.test.ts'
fi
