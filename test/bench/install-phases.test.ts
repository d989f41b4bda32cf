import { strict as assert } from "assert";
import { tracedPhases } from "../../bench/install-bench";

// xtrace lines as the install script prints them with PS4='+${EPOCHREALTIME} ', among its own log lines.
const COLD = `+100.000 set -euo pipefail
+100.010 ensure_etcd_user
18:38:02 etcd-install: created system user etcd
+100.020 curl -fsSL -o /tmp/w/etcd.tar.gz http://mirror/etcd.tar.gz
+100.060 curl -fsSL -o /tmp/w/SHA256SUMS http://mirror/SHA256SUMS
++100.070 awk -v file=etcd.tar.gz '$2 == file { print $1 }' /tmp/w/SHA256SUMS
+100.075 sha256sum --check --status
+100.100 rm -rf /opt/etcd/v3.5.16.partial
+100.110 tar -xzf /tmp/w/etcd.tar.gz -C /opt/etcd/v3.5.16.partial
+100.400 link_binaries
+100.420 install_unit
+100.430 log 'etcd 3.5.16 is installed'`;

const WARM = `+200.000 set -euo pipefail
+200.005 install_release
+200.010 link_binaries
+200.030 install_unit
+200.040 log 'etcd 3.5.16 is installed'`;

function rounded(phases: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.entries(phases).map(([name, seconds]) => [name, Math.round(seconds * 1000)]));
}

describe("bench/install-bench: phases from the install script's xtrace", () => {
    it("splits a cold install at its first curl, awk, partial-directory rm, link_binaries and install_unit (ms)", () => {
        assert.deepEqual(rounded(tracedPhases(COLD)), {
            "user and data volume": 20,
            download: 50,
            verify: 30,
            unpack: 300,
            "links and directories": 20,
            unit: 10,
        });
    });

    it("gives a warm install, which downloads nothing, zero for download, verify and unpack", () => {
        assert.deepEqual(rounded(tracedPhases(WARM)), {
            "user and data volume": 10,
            download: 0,
            verify: 0,
            unpack: 0,
            "links and directories": 20,
            unit: 10,
        });
    });
});
