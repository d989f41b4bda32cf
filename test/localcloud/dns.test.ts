// localcloud/aws/dns.ts: Route53 zones and records as dnsmasq serves them - the configuration it renders, and a real
// dnsmasq (on a test address of its own) answering A and SRV records through create, update and delete, outliving
// nothing once the last zone is gone.
import * as assert from "node:assert/strict";
import { promises as dnsPromises } from "node:dns";
import * as fs from "node:fs";
import * as path from "node:path";
import { DNS_RESOURCES, dnsmasqConfig, recordFqdn } from "../../localcloud/aws/dns";
import { isRunning, readPidFile } from "../../local/process";
import { lookupSrv } from "../../local/services";
import { servedType, urnOf, useLocalCloudDir } from "./local-cloud-env";

const ZONE = "aws:route53/zone:Zone";
const RECORD = "aws:route53/record:Record";
const TEST_DNS_ADDRESS = "127.0.19.153";
const urn = urnOf;
const resource = (type: string) => servedType(DNS_RESOURCES, type);

async function resolveA(name: string): Promise<string[] | string> {
    const resolver = new dnsPromises.Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([TEST_DNS_ADDRESS]);
    return resolver.resolve4(name).then(
        (found) => found.sort(),
        (error: NodeJS.ErrnoException) => error.code ?? "error",
    );
}

describe("localcloud/aws/dns", function () {
    this.timeout(60_000);
    after(() => {
        // A failed test may leave its dnsmasq running (this hook runs before the directory is removed).
        const pid = readPidFile(path.join(state.dir(), "dns", "dnsmasq.pid"));
        if (pid !== undefined && isRunning(pid)) process.kill(pid, "SIGKILL");
    });
    const state = useLocalCloudDir("localcloud-dns-", { LOCALCLOUD_DNS_ADDRESS: TEST_DNS_ADDRESS });

    it("a record name is relative to its zone unless it ends in the zone's name (terraform's expandRecordName)", () => {
        assert.deepEqual(
            [
                recordFqdn("etcd-0.prod.internal", "prod.internal"),
                recordFqdn("etcd-0", "prod.internal."),
                recordFqdn("Prod.Internal.", "prod.internal"),
            ],
            ["etcd-0.prod.internal", "etcd-0.prod.internal", "prod.internal"],
        );
    });

    it("renders zones as --local domains and SRV sets as flags (a restart), A records as the hosts file (SIGHUP)", () => {
        const { args, hosts } = dnsmasqConfig(
            "127.0.19.53",
            [{ name: "b.internal" }, { name: "a.internal" }],
            [
                { zoneId: "Z1", fqdn: "m-1.a.internal", type: "A", records: ["127.0.20.11"] },
                { zoneId: "Z1", fqdn: "m-0.a.internal", type: "A", records: ["127.0.20.10"] },
                {
                    zoneId: "Z1",
                    fqdn: "_etcd-server._tcp.a.internal",
                    type: "SRV",
                    records: ["0 0 2380 m-1.a.internal", "0 0 2380 m-0.a.internal"],
                },
            ],
        );
        assert.deepEqual(
            args.filter((arg) => /^--(local|listen-address|srv-host)=/.test(arg)),
            [
                "--listen-address=127.0.19.53",
                "--local=/a.internal/",
                "--local=/b.internal/",
                "--srv-host=_etcd-server._tcp.a.internal,m-0.a.internal,2380,0,0",
                "--srv-host=_etcd-server._tcp.a.internal,m-1.a.internal,2380,0,0",
            ],
        );
        assert.equal(hosts, "127.0.20.10 m-0.a.internal\n127.0.20.11 m-1.a.internal\n");
    });

    it("a record in a zone that does not exist fails as on Route53 (NoSuchHostedZone)", async () => {
        await assert.rejects(
            resource(RECORD).create({ zoneId: "ZNONE", name: "x.a.internal", type: "A", records: ["1.2.3.4"] }, "u"),
            /NoSuchHostedZone: no hosted zone found with ID: ZNONE/,
        );
    });

    it("dnsmasq serves the zone's A and SRV records through create, update and delete, and stops with the last zone", async function () {
        if (!fs.existsSync("/usr/sbin/dnsmasq")) this.skip();
        const zone = await resource(ZONE).create({ name: "demo.internal" }, urn(ZONE, "zone"));
        assert.match(zone.id, /^Z[A-Z0-9]{20}$/);
        const pidFile = path.join(state.dir(), "dns", "dnsmasq.pid");
        const firstPid = readPidFile(pidFile);
        assert.ok(firstPid !== undefined && isRunning(firstPid), "dnsmasq runs once a zone exists");

        const a = await resource(RECORD).create(
            { zoneId: zone.id, name: "m-0.demo.internal", type: "A", ttl: 30, records: ["127.0.20.10"] },
            urn(RECORD, "a"),
        );
        assert.equal(a.id, `${zone.id}_m-0.demo.internal_A`);
        assert.deepEqual(await resolveA("m-0.demo.internal"), ["127.0.20.10"]);
        assert.equal(readPidFile(pidFile), firstPid, "an A record is a SIGHUP, not a restart");

        await assert.rejects(
            resource(RECORD).create(
                { zoneId: zone.id, name: "m-0", type: "A", records: ["127.0.20.99"] },
                urn(RECORD, "again"),
            ),
            /InvalidChangeBatch: Tried to create resource record set \[name='m-0.demo.internal.', type='A'\]/,
        );

        const srvInputs = {
            zoneId: zone.id,
            name: "_etcd-server._tcp.demo.internal",
            type: "SRV",
            records: ["0 0 2380 m-0.demo.internal"],
        };
        const srv = await resource(RECORD).create(srvInputs, urn(RECORD, "srv"));
        assert.deepEqual(await lookupSrv(TEST_DNS_ADDRESS, "_etcd-server._tcp.demo.internal"), [
            "0 0 2380 m-0.demo.internal",
        ]);

        const updated = { ...srvInputs, records: ["0 0 2380 m-0.demo.internal", "0 0 2380 m-1.demo.internal"] };
        await resource(RECORD).update?.(srv.id, { inputs: srvInputs, outputs: srv.outputs }, updated);
        assert.deepEqual(await lookupSrv(TEST_DNS_ADDRESS, "_etcd-server._tcp.demo.internal"), updated.records);

        await assert.rejects(resource(ZONE).delete?.(zone.id, zone.outputs) ?? Promise.resolve(), /HostedZoneNotEmpty/);
        await resource(RECORD).delete?.(a.id, a.outputs);
        assert.equal(await resolveA("m-0.demo.internal"), "ENOTFOUND");
        await resource(RECORD).delete?.(srv.id, srv.outputs);

        const lastPid = readPidFile(pidFile);
        await resource(ZONE).delete?.(zone.id, zone.outputs);
        assert.ok(lastPid !== undefined && !isRunning(lastPid), "dnsmasq stopped with the last zone");
        assert.equal(fs.existsSync(pidFile), false);
    });
});
