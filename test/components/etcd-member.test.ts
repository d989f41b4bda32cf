// The member graph under mocks: what outlives an instance (interface, address, data volume, host
// key), how the instance is replaced (old one first, AMI pinned when looked up, one member at a
// time once the cluster runs), and what every remote command is pinned to and waits for.
import { strict as assert } from "assert";
import { named } from "../../plan/mock-engine";
import { ofType, runCluster } from "../helpers/cluster";

const COMMAND = "command:remote:Command";
const RULE_TYPES = [
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
];

describe("EtcdMember", () => {
    it("gives each member an interface, an Elastic IP, a data volume, a host key, an instance and an attachment, parented by the member", async () => {
        const run = await runCluster({});
        for (const member of ["test-etcd-0", "test-etcd-1", "test-etcd-2"]) {
            for (const [suffix, type] of [
                ["-nic", "aws:ec2/networkInterface:NetworkInterface"],
                ["-eip", "aws:ec2/eip:Eip"],
                ["-data", "aws:ebs/volume:Volume"],
                ["-host-key", "tls:index/privateKey:PrivateKey"],
                ["", "aws:ec2/instance:Instance"],
                ["-attach", "aws:ec2/volumeAttachment:VolumeAttachment"],
                ["-wait", COMMAND],
                ["-install", COMMAND],
            ] as const) {
                const resource = run.resources.find((r) => r.name === `${member}${suffix}` && r.type === type);
                assert.ok(resource, `${member}${suffix} (${type})`);
                assert.deepEqual([resource.parent, resource.parentType], [member, "etcd-aws:index:EtcdMember"]);
            }
        }
    });

    it("runs the instance on the member's interface, whose private IP is the member's address", async () => {
        const run = await runCluster({});
        const nic = named(run, "test-etcd-1-nic");
        const instance = run.resources.find((r) => r.name === "test-etcd-1" && r.type === "aws:ec2/instance:Instance");
        assert.deepEqual(instance?.inputs.networkInterfaces, [
            { networkInterfaceId: "test-etcd-1-nic-id", deviceIndex: 0 },
        ]);
        assert.deepEqual(nic.inputs.securityGroups, ["test-etcd-network-sg-id"]);
        assert.equal(instance?.inputs.subnetId, undefined, "the interface places the instance");
        assert.deepEqual((run.outputs["test-etcd.memberPrivateIps"] as string[])[1], nic.state.privateIp);
    });

    it("replaces an instance old-one-first, and its attachment too, which stops the instance before detaching", async () => {
        const run = await runCluster({});
        const instance = run.resources.find((r) => r.name === "test-etcd-0" && r.type === "aws:ec2/instance:Instance");
        assert.equal(instance?.deleteBeforeReplace, true);
        assert.deepEqual(named(run, "test-etcd-0-data").ignoreChanges, ["kmsKeyId"], "a new key replaces no volume");
        const attach = named(run, "test-etcd-0-attach");
        assert.equal(attach.deleteBeforeReplace, true);
        assert.deepEqual(
            [
                attach.inputs.deviceName,
                attach.inputs.instanceId,
                attach.inputs.volumeId,
                attach.inputs.stopInstanceBeforeDetaching,
            ],
            ["/dev/sdf", "test-etcd-0-id", "test-etcd-0-data-id", true],
        );
    });

    it("pins the looked-up AMI (ignoreChanges ami) and follows an explicit one", async () => {
        const looked = await runCluster({});
        const explicit = await runCluster({ amiId: "ami-0123456789abcdef0" });
        const instances = (run: typeof looked) => ofType(run, "aws:ec2/instance:Instance");
        assert.ok(instances(looked).every((i) => i.ignoreChanges.join() === "ami"));
        assert.ok(
            instances(explicit).every((i) => i.ignoreChanges.length === 0 && i.inputs.ami === "ami-0123456789abcdef0"),
        );
    });

    it("installs the member's ED25519 host key by cloud-config (secret) and pins it in every connection", async () => {
        const run = await runCluster({
            bootstrapMode: "discovery",
            discovery: { endpoints: ["http://10.9.0.5:2379"] },
        });
        for (const member of ["test-etcd-0", "test-etcd-1", "test-etcd-2"]) {
            const key = named(run, `${member}-host-key`);
            assert.equal(key.inputs.algorithm, "ED25519");
            const instance = run.resources.find((r) => r.name === member && r.type === "aws:ec2/instance:Instance");
            assert.ok(instance?.secretInputs.has("userData"));
            assert.match(instance?.inputs.userData, /^ssh_deletekeys: true$/m);
            assert.ok(instance?.inputs.userData.includes(`    ${key.state.privateKeyOpenssh.split("\n")[1]}\n`));
        }
        const commands = ofType(run, COMMAND);
        assert.ok(commands.length >= 13);
        for (const command of commands) {
            const member = /^(test-etcd-\d)-/.exec(command.name)?.[1] ?? "test-etcd-0";
            assert.equal(command.inputs.connection.hostKey, `ssh-ed25519 HOSTKEY-${member}-host-key`, command.name);
            assert.ok(command.secretInputs.has("connection"), command.name);
        }
    });

    it("keeps the host private key secret wherever it goes (only the user data holds it) and out of every output", async () => {
        const run = await runCluster({});
        // The fake key's body is its resource name, followed (in any indentation) by the key's end line.
        const holdsHostKey = (value: unknown) =>
            /-host-key(\\n)\s*-----END OPENSSH PRIVATE KEY-----/.test(JSON.stringify(value ?? null));
        const holders = run.resources.flatMap((resource) =>
            Object.entries(resource.inputs)
                .filter(([, value]) => holdsHostKey(value))
                .map(([input]) => [resource.name, input, resource.secretInputs.has(input)]),
        );
        assert.deepEqual(
            holders.sort(),
            [0, 1, 2].map((i) => [`test-etcd-${i}`, "userData", true]),
        );
        assert.equal(holdsHostKey(run.outputs), false);
    });

    it("keeps the install readable in previews (not secret) while it carries the membership lock's settings", async () => {
        const run = await runCluster({
            bootstrapMode: "discovery",
            discovery: { endpoints: ["http://10.9.0.5:2379"] },
        });
        const install = named(run, "test-etcd-1-install");
        assert.equal(install.secretInputs.has("stdin"), false);
        assert.match(install.inputs.stdin, /^MEMBERSHIP_LOCK='yes'$/m);
        assert.match(install.inputs.stdin, /^LOCK_KEY='/m);
    });

    it("re-runs wait, install and launch on a new instance as updates: their input names the instance, no triggers", async () => {
        const run = await runCluster({ volumeSizeGiB: 40 });
        const wait = named(run, "test-etcd-2-wait");
        assert.match(wait.inputs.create, /^# etcd-aws: for instance test-etcd-2-id\ncloud-init status --wait/);
        const install = named(run, "test-etcd-2-install");
        assert.match(install.inputs.stdin, /^INSTANCE_ID='test-etcd-2-id'$/m);
        assert.match(install.inputs.stdin, /^DATA_VOLUME_SIZE_GIB='40'$/m);
        assert.match(named(run, "test-etcd-2-launch").inputs.stdin, /^# etcd-aws: for instance test-etcd-2-id\n/);
        for (const name of ["test-etcd-2-wait", "test-etcd-2-install", "test-etcd-2-launch"]) {
            assert.equal(named(run, name).inputs.triggers, undefined, name);
        }
    });

    it("checks each member is ready after its launch, again whenever its instance, type or AMI changes", async () => {
        const run = await runCluster({});
        const ready = named(run, "test-etcd-1-ready");
        assert.ok(ready.dependencies.has("test-etcd-1-launch"));
        assert.deepEqual(ready.inputs.triggers, ["test-etcd-1-id", "t3.medium", "ami-amd64"]);
        assert.equal(ready.inputs.create, "sudo bash -s");
        assert.match(ready.inputs.stdin, /member-ready|etcd-aws-member-ready/);
        const gate = named(run, "test-etcd-health");
        for (const member of ["test-etcd-0", "test-etcd-1", "test-etcd-2"]) {
            assert.ok(gate.dependencies.has(`${member}-ready`), member);
        }
    });

    it("rolling: each instance waits for the member before it to be ready; the first deployment creates all in parallel", async () => {
        const first = await runCluster({ memberCount: 5 });
        const rolling = await runCluster({ memberCount: 5, rolling: true });
        const instance = (run: typeof first, i: number) =>
            run.resources.find((r) => r.name === `test-etcd-${i}` && r.type === "aws:ec2/instance:Instance");
        for (let i = 0; i < 5; i++) {
            const readies = (run: typeof first) =>
                [...(instance(run, i)?.dependencies ?? [])].filter((d) => d.endsWith("-ready"));
            assert.deepEqual(readies(first), [], `member ${i} first deployment`);
            assert.deepEqual(readies(rolling), i === 0 ? [] : [`test-etcd-${i - 1}-ready`], `member ${i} rolling`);
        }
    });

    it("makes every remote command depend on every security group rule, so destroy runs the leave hooks while SSH is open", async () => {
        const run = await runCluster({
            auth: true,
            sshCidrs: ["203.0.113.0/24"],
            bootstrapMode: "discovery",
            discovery: { endpoints: ["http://10.9.0.5:2379"] },
        });
        const rules = run.resources.filter((r) => RULE_TYPES.includes(r.type)).map((r) => r.name);
        assert.ok(
            rules.some((rule) => rule.includes("ssh")),
            rules.join(", "),
        );
        for (const command of ofType(run, COMMAND)) {
            const missing = rules.filter((rule) => !command.dependencies.has(rule));
            assert.deepEqual(missing, [], command.name);
        }
    });
});
