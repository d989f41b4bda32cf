#!/usr/bin/env bash
# Enters a local test host (local/host.ts): run in a new private mount namespace, it binds the
# host's copies of its private paths over the real ones, then execs the command (so the
# command keeps this process's PID).
# Usage: enter-host.sh ROOT "PATH..." COMMAND...  (the private paths relative to /, e.g. "etc run")
set -euo pipefail
root=$1
private_paths=$2
shift 2
for dir in $private_paths; do
    mount --bind "$root/$dir" "/$dir"
done
exec "$@"
