"""The install's disk check: fdatasync latency of a directory's disk, as etcd's hardware guide
measures it with fio (--rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300): blocks of
2300 bytes written one after another to a new file, each followed by fdatasync, whose own
duration is what is timed (fio's "sync" latencies). Needs only python3 (Ubuntu images have it).

  disk_probe.py DIR LIMIT_MS SECONDS
      prints "P99_MS WRITES ok|slow": the 99th percentile (nearest rank) of the fdatasync
      durations in milliseconds, how many writes were timed, and "slow" when P99_MS is above
      LIMIT_MS. Stops after 22 MiB, or once SECONDS have passed and at least 100 writes were
      timed (a p99 of fewer says little), or after 3 x SECONDS in any case. The file is removed.
"""

import math
import os
import sys
import tempfile
import time

TOTAL_BYTES = 22 * 1024 * 1024
BLOCK_BYTES = 2300
MIN_WRITES = 100


def fdatasync_durations(directory, seconds):
    block = os.urandom(BLOCK_BYTES)
    durations = []
    descriptor, name = tempfile.mkstemp(prefix=".etcd-aws-disk-check-", dir=directory)
    try:
        # As fio lays out its file (fallocate=native): the writes then fill allocated blocks.
        os.posix_fallocate(descriptor, 0, TOTAL_BYTES)
        started = time.monotonic()
        written = 0
        while written + BLOCK_BYTES <= TOTAL_BYTES:
            os.write(descriptor, block)
            written += BLOCK_BYTES
            before = time.monotonic()
            os.fdatasync(descriptor)
            durations.append(time.monotonic() - before)
            elapsed = time.monotonic() - started
            if elapsed >= 3 * seconds or (elapsed >= seconds and len(durations) >= MIN_WRITES):
                break
    finally:
        os.close(descriptor)
        os.unlink(name)
    return durations


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def main(directory, limit_ms, seconds):
    durations = fdatasync_durations(directory, float(seconds))
    p99_ms = percentile(durations, 0.99) * 1000
    verdict = "slow" if p99_ms > float(limit_ms) else "ok"
    print(f"{p99_ms:.2f} {len(durations)} {verdict}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
