// localcloud/aws/network.ts: the security group resources' state, the nftables table they render, and (where nft
// works here) that the table really opens exactly the ports the ingress rules name on a local cloud address.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { cgroup2Mount } from "../../localcloud/aws/cgroups";
import {
    cidrContains,
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

        it("gives each guarded interface a chain of its groups' ingress rules ending in drop; no egress chain without a cgroup", () => {
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

        it("sends the new traffic of an instance's cgroup through an egress chain: its own address and the resolver, its groups' egress rules, then drop", () => {
            const cgroup = { path: "unified/etcd_aws_localcloud_x/i-1", level: 2 };
            const members: HostInterface[] = [
                { address: "127.0.20.10", securityGroupIds: ["sg-a"], cgroup },
                { address: "127.0.20.11", securityGroupIds: ["sg-a"] },
                { address: "127.0.21.10", securityGroupIds: ["sg-b"] },
            ];
            const ruleset = firewallRuleset(
                "t",
                members,
                [
                    rule({ direction: "egress", fromPort: 2380, toPort: 2380, referencedSecurityGroupId: "sg-a" }),
                    rule({ direction: "egress", fromPort: 2380, toPort: 2380, referencedSecurityGroupId: "sg-none" }),
                    rule({ direction: "egress", cidrIpv4: "0.0.0.0/0", fromPort: 443, toPort: 443 }),
                    rule({ direction: "egress", cidrIpv4: "127.0.19.0/24", fromPort: 8000, toPort: 8999 }),
                    rule({ direction: "egress", securityGroupId: "sg-b", cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" }),
                    rule({ direction: "ingress", cidrIpv4: "127.0.0.1/32" }),
                ],
                {
                    resolver: "127.0.19.53",
                    endpoints: [
                        { name: "s3", address: "127.0.19.3", port: 9000, standsFor: 443 },
                        { name: "elsewhere", address: "10.1.1.1", port: 9001, standsFor: 8443 },
                        { name: "imds", address: "127.0.19.254", port: 80, standsFor: "unfiltered" },
                    ],
                },
            );
            const egress = ruleset!.slice(ruleset!.indexOf("    chain output {"));
            assert.equal(
                egress,
                [
                    "    chain output {",
                    "        type filter hook output priority filter; policy accept;",
                    "        ct state established,related accept",
                    '        socket cgroupv2 level 2 "unified/etcd_aws_localcloud_x/i-1" jump egress_127_0_20_10',
                    "    }",
                    "    chain egress_127_0_20_10 {",
                    "        ip daddr 127.0.20.10 accept",
                    "        ip daddr 127.0.19.53 udp dport 53 accept",
                    "        ip daddr 127.0.19.53 tcp dport 53 accept",
                    "        ip daddr 127.0.19.254 tcp dport 80 accept",
                    "        ip daddr { 127.0.20.10, 127.0.20.11 } tcp dport 2380 accept",
                    "        ip daddr 0.0.0.0/0 tcp dport 443 accept",
                    "        ip daddr 127.0.19.3 tcp dport 9000 accept",
                    "        ip daddr 127.0.19.0/24 tcp dport 8000-8999 accept",
                    "        drop",
                    "    }",
                    "}",
                    "",
                ].join("\n"),
            );
        });

        it("opens a service endpoint's own port only through a rule whose ports and CIDR hold what it stands for", () => {
            const cgroup = { path: "c", level: 1 };
            const egressOf = (egressRule: SecurityGroupRule) =>
                firewallRuleset("t", [{ address: "127.0.20.10", securityGroupIds: ["sg-a"], cgroup }], [egressRule], {
                    endpoints: [{ name: "s3", address: "127.0.19.3", port: 9000, standsFor: 443 }],
                })!
                    .split("\n")
                    .filter((line) => line.includes("127.0.19.3"));
            const egress = (overrides: Partial<SecurityGroupRule>) =>
                egressOf(rule({ direction: "egress", cidrIpv4: "0.0.0.0/0", ...overrides }));
            assert.deepEqual(egress({ fromPort: 443, toPort: 443 }), [
                "        ip daddr 127.0.19.3 tcp dport 9000 accept",
            ]);
            assert.deepEqual(egress({ fromPort: 400, toPort: 500 }), [
                "        ip daddr 127.0.19.3 tcp dport 9000 accept",
            ]);
            assert.deepEqual(egress({ fromPort: 80, toPort: 80 }), []);
            assert.deepEqual(egress({ ipProtocol: "udp", fromPort: 443, toPort: 443 }), []);
            assert.deepEqual(egress({ cidrIpv4: "10.0.0.0/8", fromPort: 443, toPort: 443 }), []);
            // all traffic to a CIDR is already every port of the endpoint's address
            assert.deepEqual(egress({ ipProtocol: "-1", cidrIpv4: "127.0.19.0/24" }), []);
        });

        it("cidrContains: an IPv4 address against a CIDR of any length", () => {
            assert.deepEqual(
                [
                    cidrContains("0.0.0.0/0", "127.0.19.3"),
                    cidrContains("127.0.19.0/24", "127.0.19.3"),
                    cidrContains("127.0.19.0/24", "127.0.20.3"),
                    cidrContains("127.0.19.3/32", "127.0.19.3"),
                    cidrContains("127.0.19.2/32", "127.0.19.3"),
                    cidrContains("127.0.16.0/20", "127.0.31.255"),
                    cidrContains("127.0.16.0/20", "127.0.32.0"),
                ],
                [true, true, false, true, false, true, false],
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

    describe("cgroup2Mount", () => {
        const line = (root: string, mountPoint: string, fstype: string) =>
            `35 24 0:30 ${root} ${mountPoint} rw,nosuid,nodev,noexec,relatime shared:9 - ${fstype} ${fstype} rw`;

        it("finds the cgroup2 hierarchy under /sys/fs/cgroup (the unified mount of a hybrid layout too) and its root", () => {
            const hybrid = [line("/", "/sys/fs/cgroup", "tmpfs"), line("/", "/sys/fs/cgroup/unified", "cgroup2")];
            assert.deepEqual(cgroup2Mount(hybrid.join("\n")), { mountPoint: "/sys/fs/cgroup/unified", root: "/" });
            assert.deepEqual(cgroup2Mount(line("/ci.slice", "/sys/fs/cgroup", "cgroup2")), {
                mountPoint: "/sys/fs/cgroup",
                root: "/ci.slice",
            });
        });

        it("says why there is none: no cgroup2 mount, or one nft cannot name (outside /sys/fs/cgroup)", () => {
            assert.deepEqual(cgroup2Mount(line("/", "/sys/fs/cgroup/cpu", "cgroup")), {
                missing: "no cgroup2 hierarchy mounted under /sys/fs/cgroup",
            });
            assert.deepEqual(cgroup2Mount(line("/", "/mnt/cgroup2", "cgroup2")), {
                missing: "no cgroup2 hierarchy mounted under /sys/fs/cgroup",
            });
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
