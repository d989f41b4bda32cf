import * as assert from "node:assert/strict";
import {
    discoveryRegistration,
    forInstance,
    healthGateTimeouts,
    instanceIgnoreChanges,
    launchDependencies,
    launchScriptsDigest,
    memberCertificateRequest,
    outboundUrls,
    resourceArgsProblems,
    rollingFromLastMemberNames,
    subnetPerMember,
    tokensInUse,
    ubuntuAmiNamePattern,
    waitForBootCommand,
    waitsForPreviousMember,
} from "../../core/deployment";
import { resolve, specOf } from "./helpers";
import { at } from "../helpers/elements";

const V3 = { bootstrapMode: "discovery", discovery: { endpoints: ["http://10.0.0.5:2379", "https://10.0.0.6:2379"] } };
const V2_SERVICE = {
    bootstrapMode: "discovery",
    etcdVersion: "3.5.33",
    discovery: { serviceUrl: "http://10.0.0.5:2379/v2/keys/_etcd/registry", proxy: "http://10.0.0.6:3128" },
};
const V2_READY = {
    bootstrapMode: "discovery",
    etcdVersion: "3.5.33",
    discovery: { url: "https://discovery.example.com/abc", size: 3 },
};

describe("core/deployment", () => {
    describe("outboundUrls", () => {
        it("is the release mirror alone for static and DNS clusters", () => {
            assert.deepEqual(outboundUrls(resolve({ mirrorBaseUrl: "http://mirror.internal:8080/etcd" })), [
                "http://mirror.internal:8080/etcd",
            ]);
            assert.deepEqual(outboundUrls(resolve({ bootstrapMode: "dns" })), [
                "https://github.com/etcd-io/etcd/releases/download",
            ]);
        });

        it("adds every v3 discovery endpoint, the v2 service URL or the ready v2 URL (not the proxy)", () => {
            const mirror = "https://github.com/etcd-io/etcd/releases/download";
            assert.deepEqual(outboundUrls(resolve(V3)), [mirror, "http://10.0.0.5:2379", "https://10.0.0.6:2379"]);
            assert.deepEqual(outboundUrls(resolve(V2_SERVICE)), [
                mirror,
                "http://10.0.0.5:2379/v2/keys/_etcd/registry",
            ]);
            assert.deepEqual(outboundUrls(resolve(V2_READY)), [mirror, "https://discovery.example.com/abc"]);
        });
    });

    describe("discoveryRegistration and launchDependencies", () => {
        it("static: no token, and a launch waits only for its own install", () => {
            assert.equal(discoveryRegistration(resolve({})), undefined);
            assert.deepEqual(launchDependencies(resolve({})), { dnsRecords: false, discoverySize: false });
        });

        it("dns: launches wait for the DNS records", () => {
            assert.deepEqual(launchDependencies(resolve({ bootstrapMode: "dns" })), {
                dnsRecords: true,
                discoverySize: false,
            });
        });

        it("discovery v3 and v2 with a service: member 0 makes the token and registers the size, launches wait for it", () => {
            for (const settings of [V3, V2_SERVICE]) {
                assert.deepEqual(discoveryRegistration(resolve(settings)), { member: 0 });
                assert.deepEqual(launchDependencies(resolve(settings)), { dnsRecords: false, discoverySize: true });
            }
        });

        it("a ready v2 URL: no token is made and nothing is registered, so launches do not wait for it", () => {
            assert.equal(discoveryRegistration(resolve(V2_READY)), undefined);
            assert.deepEqual(launchDependencies(resolve(V2_READY)), { dnsRecords: false, discoverySize: false });
        });
    });

    describe("placement and images", () => {
        it("deals the subnets to the members in turn", () => {
            assert.deepEqual(subnetPerMember(["a", "b", "c"], 5), ["a", "b", "c", "a", "b"]);
            assert.deepEqual(subnetPerMember(["a"], 3), ["a", "a", "a"]);
        });

        it("looks for Ubuntu 24.04 server images of the instance's architecture", () => {
            assert.equal(ubuntuAmiNamePattern("arm64"), "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*");
        });
    });

    describe("certificates", () => {
        it("asks for the member's DNS name, localhost and its real address in place of the placeholder", () => {
            const spec = specOf({ bootstrapMode: "dns" });
            const member = at(spec.members, 1);
            assert.deepEqual(memberCertificateRequest(spec, member, "10.9.9.9"), {
                name: "orders-1",
                dnsNames: ["orders-1.orders.etcd.internal", "localhost", "orders.etcd.internal"],
                ipAddresses: ["10.9.9.9", "127.0.0.1"],
            });
        });
    });

    describe("health gate", () => {
        it("waits 600 s by default and lets its command run two minutes longer", () => {
            assert.deepEqual(healthGateTimeouts(undefined), { scriptSeconds: 600, commandTimeout: "720s" });
            assert.deepEqual(healthGateTimeouts(60), { scriptSeconds: 60, commandTimeout: "180s" });
        });

        it("runs again when any launch script changes, not when they are only the same", () => {
            assert.equal(launchScriptsDigest(["a", "b"]), launchScriptsDigest(["a", "b"]));
            assert.notEqual(launchScriptsDigest(["a", "b"]), launchScriptsDigest(["a", "c"]));
            assert.notEqual(launchScriptsDigest(["ab"]), launchScriptsDigest(["a", "b"]));
        });
    });

    describe("tokensInUse", () => {
        it("names this program's clusters first, then the reserved tokens", () => {
            assert.deepEqual(tokensInUse({ program: new Map([["t1", "blue"]]), reserved: ["t2"] }), [
                { token: "t1", owner: 'cluster "blue" in this program' },
                { token: "t2", owner: "another cluster (reservedClusterTokens)" },
            ]);
            assert.deepEqual(tokensInUse({}), []);
        });
    });

    describe("resourceArgsProblems", () => {
        const fine = { sshPrivateKeyGiven: true, vpcGiven: false };

        it("accepts arguments without subnets, VPC or timeout", () => {
            assert.deepEqual(resourceArgsProblems(fine), []);
        });

        it("names a missing SSH key, an empty subnet list without VPC and an out-of-range health timeout, in that order", () => {
            const problems = resourceArgsProblems({
                sshPrivateKeyGiven: false,
                subnetCount: 0,
                vpcGiven: false,
                healthTimeoutSeconds: 29,
            });
            assert.deepEqual(
                problems.map((p) => [p.setting, p.value]),
                [
                    ["ssh.privateKey", undefined],
                    ["subnetIds", []],
                    ["vpcId", undefined],
                    ["healthTimeoutSeconds", 29],
                ],
            );
            assert.equal(problems[3]?.problem, "must be a whole number of seconds from 30 to 3600");
        });

        it("with a bastion: requires its host key and the members' internet path; checks the key's text when known", () => {
            const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfrglhIhHHcKEPAt5L/OVgs2OVTiXnFCMwg29q23RHx b";
            const settings = (args: Parameters<typeof resourceArgsProblems>[0]) =>
                resourceArgsProblems(args).map((p) => p.setting);
            assert.deepEqual(settings({ ...fine, bastion: { hostKeyGiven: false } }), [
                "ssh.bastion.hostKey",
                "privateEgress",
            ]);
            assert.deepEqual(settings({ ...fine, bastion: { hostKeyGiven: true, hostKey }, privateEgress: "nat" }), []);
            // Given as an output (another language): its text is checked by SSH, not here.
            assert.deepEqual(settings({ ...fine, bastion: { hostKeyGiven: true }, privateEgress: "nat" }), []);
            assert.deepEqual(
                settings({
                    ...fine,
                    bastion: { hostKeyGiven: true, hostKey: "ssh-ed25519 AAAA" },
                    privateEgress: "nat",
                }),
                ["ssh.bastion.hostKey"],
            );
        });

        it("privateEgress: nat, or mirror with mirrorBaseUrl set; only behind a bastion (unknown when SSH is one output)", () => {
            const bastion = { hostKeyGiven: true };
            const settings = (args: Partial<Parameters<typeof resourceArgsProblems>[0]>) =>
                resourceArgsProblems({ ...fine, ...args }).map((p) => [p.setting, p.value]);
            assert.deepEqual(settings({ bastion, privateEgress: "mirror", mirrorBaseUrlGiven: true }), []);
            assert.deepEqual(settings({ bastion, privateEgress: "mirror" }), [["privateEgress", "mirror"]]);
            assert.deepEqual(settings({ bastion, privateEgress: "NAT" }), [["privateEgress", "NAT"]]);
            assert.deepEqual(settings({ privateEgress: "nat" }), [["privateEgress", "nat"]]);
            assert.deepEqual(settings({ privateEgress: "nat", sshDeferred: true }), []);
        });

        it("takes health timeouts of 30 and 3600 seconds, not 3601 or 60.5", () => {
            for (const healthTimeoutSeconds of [30, 3600]) {
                assert.deepEqual(resourceArgsProblems({ ...fine, healthTimeoutSeconds }), []);
            }
            for (const healthTimeoutSeconds of [3601, 60.5]) {
                assert.equal(resourceArgsProblems({ ...fine, healthTimeoutSeconds }).length, 1);
            }
        });
    });

    describe("changing a running cluster", () => {
        it("rolls once the last deployment lists members; a first deployment (no output, an empty list) does not", () => {
            assert.equal(rollingFromLastMemberNames(["c-0", "c-1"]), true);
            for (const last of [undefined, [], "c-0", {}]) {
                assert.equal(rollingFromLastMemberNames(last), false, JSON.stringify(last));
            }
        });

        it("chains every member but the first on its predecessor, and only when rolling", () => {
            assert.deepEqual(
                [0, 1, 2].map((i) => waitsForPreviousMember(i, true)),
                [false, true, true],
            );
            assert.deepEqual(
                [0, 1, 2].map((i) => waitsForPreviousMember(i, false)),
                [false, false, false],
            );
        });

        it("ignores AMI changes only when the AMI came from the lookup", () => {
            assert.deepEqual(instanceIgnoreChanges(true), ["ami"]);
            assert.deepEqual(instanceIgnoreChanges(false), []);
        });

        it("names the instance in a first comment line, so a new instance changes the input and nothing runs it", () => {
            assert.equal(forInstance("echo hi\n", "i-0abc"), "# etcd-aws: for instance i-0abc\necho hi\n");
            // A plan's placeholder stays inside the comment, on one line.
            assert.equal(forInstance("x", "<instance a\nID>"), "# etcd-aws: for instance <instance a ID>\nx");
            assert.match(waitForBootCommand("i-1"), /^# etcd-aws: for instance i-1\ncloud-init status --wait /);
        });
    });
});
