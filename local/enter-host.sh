#!/usr/bin/env bash
# Enters a local test host (local/host.ts): run in a new private mount namespace, it binds the
# host's copies of its private paths over the real ones, then execs the command (so the
# command keeps this process's PID).
# A host of the local cloud (localcloud/aws) may also have block devices: its ROOT/dev/disk is
# bound over /dev/disk (the attached volumes' /dev/disk/by-id links), and, as at boot, each
# UUID= entry of its fstab under one of its private paths is mounted when its device is there
# (nofail), so every command and every service started later sees the data volume mounted.
# Usage: enter-host.sh ROOT "PATH..." COMMAND...  (the private paths relative to /, e.g. "etc run";
# "var/lib=overlay" mounts an overlay of the machine's /var/lib whose changes go to ROOT/var/lib)
set -euo pipefail
root=$1
private_paths=$2
shift 2
for entry in $private_paths; do
    dir=${entry%=overlay}
    if [ "$dir" != "$entry" ]; then
        mount -t overlay overlay \
            -o "lowerdir=/$dir,upperdir=$root/$dir,workdir=$root/.overlay-work/$dir" "/$dir"
    else
        mount --bind "$root/$dir" "/$dir"
    fi
done
if [ -d "$root/dev/disk" ]; then
    mkdir -p /dev/disk
    mount --bind "$root/dev/disk" /dev/disk
fi
if [ -f /etc/fstab ]; then
    while read -r source target _; do
        [[ $source == UUID=* ]] || continue
        for entry in $private_paths; do
            dir=${entry%=overlay}
            if [[ $target == "/$dir" || $target == "/$dir"/* ]]; then
                mountpoint -q "$target" || mount "$target" 2>/dev/null || true
            fi
        done
    done </etc/fstab
fi
exec "$@"
