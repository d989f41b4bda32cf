import * as assert from "node:assert/strict";
import { DEFAULT_PORTS, FirewallInput, FirewallRule, renderFirewallRules } from "../../core";
import { urlPort } from "../../core/firewall";

const MEMBERS = { kind: "members" } as const;
const WORLD = { kind: "cidr", cidr: "0.0.0.0/0" } as const;

const INPUT: FirewallInput = {
    ports: DEFAULT_PORTS,
    clientCidrs: ["10.20.0.0/16", "192.168.1.0/24"],
    clientSecurityGroupCount: 2,
    sshCidrs: ["203.0.113.0/24"],
    monitoringCidrs: ["10.30.0.0/24"],
    outboundUrls: [
        "https://github.com/etcd-io/etcd/releases/download",
        "http://10.0.0.5:2379/v2/keys/_etcd/registry",
        "http://mirror.example.com/etcd",
    ],
};

const MINIMAL: FirewallInput = {
    ports: DEFAULT_PORTS,
    clientCidrs: [],
    clientSecurityGroupCount: 0,
    sshCidrs: [],
    monitoringCidrs: [],
    outboundUrls: [],
};

function ingress(rules: readonly FirewallRule[], port: number): FirewallRule[] {
    return rules.filter((rule) => rule.direction === "ingress" && rule.port === port);
}

describe("core/firewall", () => {
    it("renders exactly the rule list of a representative input", () => {
        assert.deepEqual(renderFirewallRules(INPUT), [
            {
                key: "peer-from-members",
                direction: "ingress",
                port: 2380,
                peer: MEMBERS,
                description: "etcd peers (raft) from members",
            },
            {
                key: "client-from-members",
                direction: "ingress",
                port: 2379,
                peer: MEMBERS,
                description: "etcd clients from members (health checks, membership changes)",
            },
            {
                key: "client-from-10-20-0-0-16",
                direction: "ingress",
                port: 2379,
                peer: { kind: "cidr", cidr: "10.20.0.0/16" },
                description: "etcd clients from 10.20.0.0/16",
            },
            {
                key: "client-from-192-168-1-0-24",
                direction: "ingress",
                port: 2379,
                peer: { kind: "cidr", cidr: "192.168.1.0/24" },
                description: "etcd clients from 192.168.1.0/24",
            },
            {
                key: "client-from-sg-0",
                direction: "ingress",
                port: 2379,
                peer: { kind: "securityGroup", index: 0 },
                description: "etcd clients from client security group 0",
            },
            {
                key: "client-from-sg-1",
                direction: "ingress",
                port: 2379,
                peer: { kind: "securityGroup", index: 1 },
                description: "etcd clients from client security group 1",
            },
            {
                key: "ssh-from-203-0-113-0-24",
                direction: "ingress",
                port: 22,
                peer: { kind: "cidr", cidr: "203.0.113.0/24" },
                description: "SSH from 203.0.113.0/24",
            },
            {
                key: "metrics-from-10-30-0-0-24",
                direction: "ingress",
                port: 2381,
                peer: { kind: "cidr", cidr: "10.30.0.0/24" },
                description: "metrics scrapes from 10.30.0.0/24",
            },
            {
                key: "peer-to-members",
                direction: "egress",
                port: 2380,
                peer: MEMBERS,
                description: "etcd peers (raft) to members",
            },
            {
                key: "client-to-members",
                direction: "egress",
                port: 2379,
                peer: MEMBERS,
                description: "etcd clients to members",
            },
            {
                key: "out-80",
                direction: "egress",
                port: 80,
                peer: WORLD,
                description: "out to port 80 (release mirror or discovery service)",
            },
            {
                key: "out-443",
                direction: "egress",
                port: 443,
                peer: WORLD,
                description: "HTTPS out (etcd release download, AWS APIs)",
            },
            {
                key: "out-2379",
                direction: "egress",
                port: 2379,
                peer: WORLD,
                description: "out to port 2379 (release mirror or discovery service)",
            },
        ]);
    });

    it("the peer port is open only to the members themselves", () => {
        assert.deepEqual(
            ingress(renderFirewallRules(INPUT), 2380).map((rule) => rule.peer),
            [MEMBERS],
        );
    });

    it("the client port is open to members, each client CIDR and each client security group", () => {
        assert.deepEqual(
            ingress(renderFirewallRules(INPUT), 2379).map((rule) => rule.peer),
            [
                MEMBERS,
                { kind: "cidr", cidr: "10.20.0.0/16" },
                { kind: "cidr", cidr: "192.168.1.0/24" },
                { kind: "securityGroup", index: 0 },
                { kind: "securityGroup", index: 1 },
            ],
        );
    });

    it("SSH is open only to sshCidrs, and not at all without them", () => {
        assert.deepEqual(
            ingress(renderFirewallRules(INPUT), 22).map((rule) => rule.peer),
            [{ kind: "cidr", cidr: "203.0.113.0/24" }],
        );
        assert.deepEqual(ingress(renderFirewallRules(MINIMAL), 22), []);
    });

    it("metrics are open only to monitoringCidrs, and not at all without them", () => {
        assert.deepEqual(
            ingress(renderFirewallRules(INPUT), 2381).map((rule) => rule.peer),
            [{ kind: "cidr", cidr: "10.30.0.0/24" }],
        );
        assert.deepEqual(ingress(renderFirewallRules(MINIMAL), 2381), []);
    });

    it("a minimal input gets member ingress, member egress and HTTPS out only", () => {
        assert.deepEqual(
            renderFirewallRules(MINIMAL).map((rule) => `${rule.key} ${rule.direction} ${rule.port}`),
            [
                "peer-from-members ingress 2380",
                "client-from-members ingress 2379",
                "peer-to-members egress 2380",
                "client-to-members egress 2379",
                "out-443 egress 443",
            ],
        );
    });

    it("custom ports move every etcd rule", () => {
        const rules = renderFirewallRules({
            ...INPUT,
            ports: { client: 12379, peer: 12380, metrics: 12381 },
            outboundUrls: [],
        });
        assert.deepEqual(
            rules.map((rule) => `${rule.key} ${rule.port}`),
            [
                "peer-from-members 12380",
                "client-from-members 12379",
                "client-from-10-20-0-0-16 12379",
                "client-from-192-168-1-0-24 12379",
                "client-from-sg-0 12379",
                "client-from-sg-1 12379",
                "ssh-from-203-0-113-0-24 22",
                "metrics-from-10-30-0-0-24 12381",
                "peer-to-members 12380",
                "client-to-members 12379",
                "out-443 443",
            ],
        );
    });

    it("keys are unique and stable: adding or removing a CIDR leaves the other rules' keys and contents alone", () => {
        const before = renderFirewallRules(INPUT);
        const after = renderFirewallRules({ ...INPUT, clientCidrs: ["172.16.0.0/12", "192.168.1.0/24"], sshCidrs: [] });
        assert.equal(new Set(before.map((rule) => rule.key)).size, before.length);
        assert.equal(new Set(after.map((rule) => rule.key)).size, after.length);
        const byKey = new Map(before.map((rule) => [rule.key, rule]));
        const kept = after.filter((rule) => byKey.has(rule.key));
        assert.deepEqual(
            after.filter((rule) => !byKey.has(rule.key)).map((rule) => rule.key),
            ["client-from-172-16-0-0-12"],
        );
        for (const rule of kept) {
            assert.deepEqual(rule, byKey.get(rule.key));
        }
    });

    it("a CIDR listed twice gives one rule (no duplicate keys)", () => {
        const rules = renderFirewallRules({
            ...MINIMAL,
            clientCidrs: ["10.20.0.0/16", "10.20.0.0/16"],
            sshCidrs: ["203.0.113.0/24", "203.0.113.0/24"],
        });
        assert.deepEqual(
            rules.map((rule) => rule.key),
            [
                "peer-from-members",
                "client-from-members",
                "client-from-10-20-0-0-16",
                "ssh-from-203-0-113-0-24",
                "peer-to-members",
                "client-to-members",
                "out-443",
            ],
        );
    });

    it("urlPort: the explicit port, else 443 for https and 80 for http", () => {
        assert.equal(urlPort("https://github.com/etcd-io"), 443);
        assert.equal(urlPort("http://mirror.example.com/etcd"), 80);
        assert.equal(urlPort("http://10.0.0.5:2379/v2/keys"), 2379);
        assert.equal(urlPort("https://10.0.0.5:8443"), 8443);
    });
});
