// localcloud/aws/network.ts: the security group resources' state, the nftables table they render, and (where nft
// works here) that the table really opens exactly the ports the ingress rules name on a local cloud address.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import {
    firewallRuleset,
    firewallTable,
    HostInterface,
    inLocalCloudRange,
    NETWORK_RESOURCES,
    SecurityGroupRule,
    syncFirewall,
} from "../../localcloud/aws/network";
import { servedType, urnOf, useLocalCloudDir } from "./local-cloud-env";

const GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const urn = urnOf;
const resource = (type: string) => servedType(NETWORK_RESOURCES, type);

const rule = (overrides: Partial<SecurityGroupRule>): SecurityGroupRule => ({
    direction: "ingress",
    securityGroupId: "sg-a",
    ipProtocol: "tcp",
    fromPort: 2379,
    toPort: 2379,
    ...overrides,
});

/** True when a TCP connection to address:port is accepted within the time (a dropped SYN times out). */
function connects(address: string, port: number, timeoutMs = 700): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port });
        const done = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
    });
}

function nftWorks(): boolean {
    try {
        execFileSync("nft", ["list", "tables"], { stdio: "ignore", timeout: 5_000 });
        return true;
    } catch {
        return false;
    }
}

describe("localcloud/aws/network", () => {
    const state = useLocalCloudDir("localcloud-network-");

    it("only addresses in 127.0.20.0 - 127.0.31.255 are the local cloud's", () => {
        assert.deepEqual(
            ["127.0.20.10", "127.0.31.255", "127.0.19.53", "127.0.32.1", "127.0.1.10", "10.0.20.1", "127.0.20.256"].map(
                inLocalCloudRange,
            ),
            [true, true, false, false, false, false, false],
        );
    });

    describe("firewallRuleset", () => {
        const interfaces: HostInterface[] = [
            { address: "127.0.20.11", securityGroupIds: ["sg-a"] },
            { address: "127.0.20.10", securityGroupIds: ["sg-a"] },
            { address: "127.0.1.10", securityGroupIds: ["sg-a"] },
            { address: "127.0.21.10", securityGroupIds: [] },
        ];

        it("gives each guarded interface a chain of its groups' ingress rules ending in drop; egress is not enforced", () => {
            const ruleset = firewallRuleset("t", interfaces, [
                rule({ cidrIpv4: "127.0.0.0/8" }),
                rule({ fromPort: 2380, toPort: 2380, referencedSecurityGroupId: "sg-a" }),
                rule({ securityGroupId: "sg-other", cidrIpv4: "127.0.0.0/8", fromPort: 22, toPort: 22 }),
                rule({ direction: "egress", cidrIpv4: "0.0.0.0/0", fromPort: 443, toPort: 443 }),
                rule({ ipProtocol: "-1", cidrIpv4: "127.0.0.1/32" }),
            ]);
            const chain = [
                "        ip saddr 127.0.0.0/8 tcp dport 2379 accept",
                "        ip saddr { 127.0.0.1, 127.0.1.10, 127.0.20.10, 127.0.20.11 } tcp dport 2380 accept",
                "        ip saddr 127.0.0.1/32 accept",
                "        drop",
                "    }",
            ];
            assert.equal(
                ruleset,
                [
                    "table inet t {",
                    "    chain input {",
                    "        type filter hook input priority filter; policy accept;",
                    "        ct state established,related accept",
                    "        ip daddr 127.0.20.10 jump eni_127_0_20_10",
                    "        ip daddr 127.0.20.11 jump eni_127_0_20_11",
                    "    }",
                    "    chain eni_127_0_20_10 {",
                    ...chain,
                    "    chain eni_127_0_20_11 {",
                    ...chain,
                    "}",
                    "",
                ].join("\n"),
            );
        });

        it("is no table at all when no interface of the local cloud has a group", () => {
            assert.equal(firewallRuleset("t", interfaces.slice(2), [rule({ cidrIpv4: "127.0.0.0/8" })]), undefined);
        });

        it("refuses a protocol it cannot enforce, naming it", () => {
            assert.throws(
                () => firewallRuleset("t", interfaces, [rule({ ipProtocol: "gre", cidrIpv4: "127.0.0.0/8" })]),
                /protocol gre is not supported/,
            );
        });
    });

    describe("resources", () => {
        it("a rule of a group that does not exist fails as on AWS (InvalidGroup.NotFound)", async () => {
            await assert.rejects(
                resource(INGRESS).create(
                    {
                        securityGroupId: "sg-missing",
                        ipProtocol: "tcp",
                        fromPort: 22,
                        toPort: 22,
                        cidrIpv4: "127.0.0.0/8",
                    },
                    urn(INGRESS, "r"),
                ),
                /InvalidGroup.NotFound: the security group 'sg-missing' does not exist/,
            );
        });

        it("a group gets an sg- id and a generated name; its rules get sgr- ids and are deleted with it", async () => {
            process.env.LOCALCLOUD_RECORD = "1";
            try {
                const group = await resource(GROUP).create({ vpcId: "vpc-1", description: "d" }, urn(GROUP, "web-sg"));
                assert.match(group.id, /^sg-[0-9a-f]{17}$/);
                assert.match(String(group.outputs.name), /^web-sg-[0-9a-f]{7}$/);
                const ingress = await resource(INGRESS).create(
                    { securityGroupId: group.id, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "127.0.0.0/8" },
                    urn(INGRESS, "ssh"),
                );
                const egress = await resource(EGRESS).create(
                    { securityGroupId: group.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" },
                    urn(EGRESS, "https"),
                );
                assert.match(ingress.id, /^sgr-[0-9a-f]{17}$/);
                assert.equal(ingress.outputs.securityGroupRuleId, ingress.id);
                const stored = () => fs.readdirSync(path.join(state.dir(), "security-group-rules")).sort();
                assert.deepEqual(stored(), [`${egress.id}.json`, `${ingress.id}.json`].sort());
                await resource(GROUP).delete?.(group.id, group.outputs);
                assert.deepEqual(stored(), []);
                assert.equal(fs.existsSync(path.join(state.dir(), "security-groups", `${group.id}.json`)), false);
            } finally {
                delete process.env.LOCALCLOUD_RECORD;
            }
        });
    });

    describe("enforced by nftables on a local cloud address", function () {
        const address = "127.0.23.250";
        const servers: net.Server[] = [];
        const ports: number[] = [];

        before(async function () {
            if (!nftWorks()) {
                console.log("    skipped: nft is missing or the kernel refuses it (the rules are then only recorded)");
                this.skip();
            }
            for (let i = 0; i < 2; i++) {
                const server = net.createServer((socket) => socket.end());
                await new Promise<void>((resolve) => server.listen(0, address, resolve));
                servers.push(server);
                ports.push((server.address() as net.AddressInfo).port);
            }
        });
        after(() => {
            syncFirewall([]);
            servers.forEach((server) => server.close());
        });

        it("opens only the ports an ingress rule admits, closes a port when its rule is deleted, drops the table last", async () => {
            const [open, closed] = ports as [number, number];
            const group = await resource(GROUP).create({ vpcId: "vpc-1", description: "d" }, urn(GROUP, "sg"));
            const interfaces = [{ address, securityGroupIds: [group.id] }];
            const ingress = await resource(INGRESS).create(
                { securityGroupId: group.id, ipProtocol: "tcp", fromPort: open, toPort: open, cidrIpv4: "127.0.0.0/8" },
                urn(INGRESS, "open"),
            );
            const status = syncFirewall(interfaces);
            assert.equal(status.enforced, true, status.reason);
            assert.deepEqual([await connects(address, open), await connects(address, closed)], [true, false]);

            await resource(INGRESS).delete?.(ingress.id, ingress.outputs);
            syncFirewall(interfaces);
            assert.equal(await connects(address, open), false);

            syncFirewall([]);
            const tables = execFileSync("nft", ["list", "tables"], { encoding: "utf8" });
            assert.equal(tables.includes(firewallTable()), false);
            assert.deepEqual([await connects(address, open), await connects(address, closed)], [true, true]);
            await resource(GROUP).delete?.(group.id, group.outputs);
        });
    });
});
