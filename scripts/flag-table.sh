#!/usr/bin/env bash
# Writes the flag table of an etcd binary into test/fixtures/etcd-flags/v<version>.txt: every
# flag name its `etcd --help` lists and its flag parser accepts, without the leading dashes,
# sorted, one per line.
# usage: scripts/flag-table.sh <path to etcd> [output directory]
set -euo pipefail

etcd_binary=${1:?usage: scripts/flag-table.sh <path to etcd> [output directory]}
out_dir=${2:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/fixtures/etcd-flags"}

version=$("$etcd_binary" --version | awk '/^etcd Version:/ {print $3}')
[ -n "$version" ] || { echo "flag-table: cannot read the version of $etcd_binary" >&2; exit 1; }
# etcd prints its usage on stdout (3.5+) or stderr (3.4), and exits 0 or 2 depending on release.
help_text=$("$etcd_binary" --help 2>&1 || true)
listed=$(printf '%s\n' "$help_text" | sed -n 's/^[[:space:]]*\(etcd \)\{0,1\}--\([a-z0-9][a-z0-9.-]*\).*/\2/p' | LC_ALL=C sort -u)
# The help is a hand-written text that can outlive a flag (3.7.3 still lists --discovery): keep
# the names the binary's flag parser knows. A bad value is still a known flag; --version makes
# a known flag with a good value exit at once.
flags=""
for flag in $listed; do
    answer=$("$etcd_binary" "--$flag=x" --version 2>&1 || true)
    case $answer in
    "flag provided but not defined"*) ;;
    *) flags+="$flag"$'\n' ;;
    esac
done
flags=${flags%$'\n'}
[ -n "$flags" ] || { echo "flag-table: no flags in the help of $etcd_binary" >&2; exit 1; }
printf '%s\n' "$flags" >"$out_dir/v$version.txt"
echo "flag-table: $(printf '%s\n' "$flags" | wc -l) flags of etcd $version -> $out_dir/v$version.txt"
