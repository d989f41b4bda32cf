import { strict as assert } from "assert";
import { ofType, runCluster } from "../helpers/cluster";
import { RecordedResource } from "../../plan/mock-engine";
import { at } from "../helpers/elements";

/** "direction port source" for each rule, e.g. "ingress 2380 members". */
function ruleLines(rules: RecordedResource[], direction: string): string[] {
    return rules
        .map((rule) => {
            const i = rule.inputs;
            const source =
                i.cidrIpv4 ??
                (i.referencedSecurityGroupId === "test-etcd-network-sg-id" ? "members" : i.referencedSecurityGroupId);
            return `${direction} ${i.fromPort}-${i.toPort}/${i.ipProtocol} ${source}`;
        })
        .sort();
}

describe("EtcdSecurityGroup", () => {
    it("opens 2380 only to members, 2379 to members and listed clients, 22 and 2381 only to their sources", async () => {
        const run = await runCluster({
            clientCidrs: ["10.1.0.0/16"],
            clientSecurityGroupIds: ["sg-app"],
            sshCidrs: ["10.9.9.0/24"],
            monitoringCidrs: ["10.8.0.0/24"],
        });
        const ingress = ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        assert.deepEqual(ruleLines(ingress, "ingress"), [
            "ingress 22-22/tcp 10.9.9.0/24",
            "ingress 2379-2379/tcp 10.1.0.0/16",
            "ingress 2379-2379/tcp members",
            "ingress 2379-2379/tcp sg-app",
            "ingress 2380-2380/tcp members",
            "ingress 2381-2381/tcp 10.8.0.0/24",
        ]);
        for (const rule of ingress) {
            assert.equal(rule.inputs.securityGroupId, "test-etcd-network-sg-id");
            assert.equal(rule.parent, "test-etcd-network");
        }
    });

    it("adds explicit egress: peers and clients to members, HTTPS out, and the discovery service's port", async () => {
        const run = await runCluster({
            bootstrapMode: "discovery",
            discovery: { endpoints: ["http://10.9.0.5:2379"] },
        });
        const egress = ofType(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
        assert.deepEqual(ruleLines(egress, "egress"), [
            "egress 2379-2379/tcp 0.0.0.0/0",
            "egress 2379-2379/tcp members",
            "egress 2380-2380/tcp members",
            "egress 443-443/tcp 0.0.0.0/0",
        ]);
    });

    it("uses rule resources only: the group itself has no inline rules", async () => {
        const run = await runCluster({ sshCidrs: ["10.9.9.0/24"] });
        const group = at(ofType(run, "aws:ec2/securityGroup:SecurityGroup"), 0, "security group");
        assert.equal(group.inputs.ingress, undefined);
        assert.equal(group.inputs.egress, undefined);
        assert.equal(group.inputs.vpcId, "vpc-default");
    });

    it("opens nothing but member traffic and egress when no sources are configured", async () => {
        const run = await runCluster({});
        const ingress = ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        assert.deepEqual(ruleLines(ingress, "ingress"), [
            "ingress 2379-2379/tcp members",
            "ingress 2380-2380/tcp members",
        ]);
    });

    it("describes the group without ports, so changing a port does not replace it", async () => {
        const [standard] = ofType(await runCluster({}), "aws:ec2/securityGroup:SecurityGroup");
        const [moved] = ofType(
            await runCluster({ clientPort: 12379, peerPort: 12380, metricsPort: 12381 }),
            "aws:ec2/securityGroup:SecurityGroup",
        );
        assert.equal(standard?.inputs.description, "etcd cluster members: client, peer and metrics traffic");
        assert.equal(moved?.inputs.description, standard?.inputs.description);
    });
});
