#!/usr/bin/env bash
# Runs every benchmark (bench/) and writes bench/results.md and bench/results.json: the critical
# path of `pulumi up` from the mocked graph, program evaluation time and memory under mocks, launch
# to healthy and install time on local hosts with real etcd, and etcdctl check perf, each compared
# side by side with the naive way in the same run, the membership lock's hand-over in rolling
# restarts next to the old lock's, and a rolling etcd upgrade of a 3-member local stack next to
# etcd's guide done by hand. About 30 minutes; needs root (local hosts are mount namespaces) and
# waits for any running test suite to finish first. Not part of the tests. With --only, the
# benchmarks not run keep their figures from the last run. Run it alone on the real-etcd lock:
#   flock /tmp/etcd-aws-real.lock scripts/bench.sh [--only graph,evaluation,launch,install,perf,lock,upgrade]
# Environment: BENCH_RUNS (5), BENCH_PERF_RUNS (2), BENCH_LOCK_ROUNDS (3), BENCH_UPGRADE_ROUNDS (4),
# BENCH_MAX_WAIT_MINUTES (30).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"
export PATH="$ROOT/.tools/node/bin:$ROOT/node_modules/.bin:$PATH"
tsc --noEmit -p tsconfig.json
TS_NODE_PROJECT="$ROOT/tsconfig.json" exec node --require ts-node/register/transpile-only bench/main.ts "$@"
