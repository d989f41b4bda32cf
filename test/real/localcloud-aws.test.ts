// The local cloud's compute (localcloud/aws/compute.ts) through its resource functions, for real: an instance's SSH
// daemon on its interface's address with the user data's host key, a data volume that outlives its instance, stop
// and start restarting the enabled units, and terminate leaving no process; and an instance's security groups'
// egress rules enforced on what its processes send. Fixed loopback addresses (127.0.31.x port 22, 127.0.19.240):
// a real test (run under the shared lock).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { isRunning, readPidFile } from "../../local/process";
import {
    importKeyPair,
    instance,
    instanceDaemonPid,
    instanceHost,
    networkInterface,
    volume,
    volumeAttachment,
} from "../../localcloud/aws/compute";
import { instanceCgroup } from "../../localcloud/aws/cgroups";
import { forgetMetadataService, startMetadataService } from "../../localcloud/aws/iam";
import { imdsAddress } from "../../localcloud/aws/imds";
import { stopLocalMoto } from "../../localcloud/aws/moto";
import { FirewallStatus, NETWORK_RESOURCES, registerServiceEndpoint } from "../../localcloud/aws/network";
import { getSubnet } from "../../localcloud/aws/vpc";
import { runRemote } from "../../localcloud/providers/command";
import { Properties } from "../../localcloud/providers/server";
import { privateKey } from "../../localcloud/providers/tls";

const URN = (type: string, name: string) => `urn:pulumi:test::localcloud::${type}::${name}`;
const INSTANCE = "aws:ec2/instance:Instance";
const SUBNET = "subnet-0aa1aa1aa1aa1aa10";
/** The subnet's index in the local cloud: the last /24 (127.0.31.0/24), away from local stacks' first ones. */
const SUBNET_INDEX = 11;

async function ed25519(): Promise<{ privateKeyOpenssh: string; publicKeyOpenssh: string }> {
    const { outputs } = await privateKey.create({ algorithm: "ED25519" }, URN("tls", "key"));
    return outputs as { privateKeyOpenssh: string; publicKeyOpenssh: string };
}

/**
 * A new state directory as LOCALCLOUD_DIR (the test's subnet its only one), a client key registered as the key pair
 * "test" and a host key for the user data.
 */
async function freshLocalCloud(prefix: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    process.env.LOCALCLOUD_DIR = dir;
    fs.writeFileSync(path.join(dir, "subnets.json"), JSON.stringify({ [SUBNET]: SUBNET_INDEX }));
    const [client, hostKey] = [await ed25519(), await ed25519()];
    importKeyPair("test", client.publicKeyOpenssh);
    return { dir, client, hostKey };
}

/** The design's user data: the member's host key as cloud-config ssh_keys. */
function userData(hostKey: { privateKeyOpenssh: string; publicKeyOpenssh: string }): string {
    const indented = hostKey.privateKeyOpenssh.trimEnd().replace(/^/gm, "    ");
    return `#cloud-config\nssh_keys:\n  ed25519_private: |\n${indented}\n  ed25519_public: ${hostKey.publicKeyOpenssh.trim()}\nssh_deletekeys: true\nssh_genkeytypes: []\n`;
}

/** The prepare_data_volume steps of host/etcd-aws-install.sh: wait for the device, format once, fstab by UUID. */
const PREPARE_DATA = (volumeId: string) => `set -euo pipefail
device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}
for _ in $(seq 50); do [ -e "$device" ] && break; sleep 0.1; done
blkid "$device" >/dev/null 2>&1 || mkfs.ext4 -q -L etcd-data "$device"
uuid=$(blkid -s UUID -o value "$device")
mkdir -p /var/lib/etcd
grep -q "UUID=$uuid " /etc/fstab || printf 'UUID=%s /var/lib/etcd ext4 defaults,nofail,noatime 0 2\\n' "$uuid" >>/etc/fstab
mountpoint -q /var/lib/etcd || mount /var/lib/etcd
`;

/** A unit like etcd's: enabled for multi-user.target; its program records what it sees of the data volume. */
const SLEEPER_UNIT = `set -euo pipefail
cat >/usr/local/bin/sleeper <<'EOF'
#!/bin/sh
cat /var/lib/etcd/data/key >/var/log/sleeper-saw 2>&1 || echo none >/var/log/sleeper-saw
exec sleep 1000
EOF
chmod +x /usr/local/bin/sleeper
mkdir -p /etc/systemd/system
printf '[Service]\\nExecStart=/usr/local/bin/sleeper\\n[Install]\\nWantedBy=multi-user.target\\n' >/etc/systemd/system/sleeper.service
systemctl enable sleeper
systemctl start sleeper
`;

describe("localcloud aws compute: instances, volumes, attachments (real hosts and SSH daemons)", function () {
    this.timeout(120_000);
    let dir: string;
    let client: { privateKeyOpenssh: string; publicKeyOpenssh: string };
    let hostKey: { privateKeyOpenssh: string; publicKeyOpenssh: string };
    let eniId: string;
    let address: string;
    let volumeId: string;
    let zone: string;
    let instanceId: string | undefined;
    let attachmentOutputs: Properties | undefined;
    const previousDir = process.env.LOCALCLOUD_DIR;

    const launch = async (name: string, extra: Properties = {}) => {
        const inputs = {
            ami: "ami-0c0ffee0000000001",
            instanceType: "t3.small",
            keyName: "test",
            userData: userData(hostKey),
            networkInterfaces: [{ networkInterfaceId: eniId, deviceIndex: 0 }],
            ...extra,
        };
        const created = await instance.create(inputs, URN(INSTANCE, name));
        instanceId = created.id;
        return { ...created, inputs };
    };
    const ssh = (command: string, stdin = "", key = client.privateKeyOpenssh, pinned = hostKey.publicKeyOpenssh) =>
        runRemote(
            command,
            {
                connection: { host: address, user: "ubuntu", privateKey: key, hostKey: pinned, dialErrorLimit: 1 },
                stdin,
            },
            {},
        );
    const attach = async () => {
        const inputs = { deviceName: "/dev/sdf", instanceId, volumeId, stopInstanceBeforeDetaching: true };
        attachmentOutputs = (await volumeAttachment.create(inputs, URN("aws:ec2/volumeAttachment", "attach"))).outputs;
    };
    const detach = async () => {
        if (attachmentOutputs) await volumeAttachment.delete!("", attachmentOutputs);
        attachmentOutputs = undefined;
    };
    const terminate = async () => {
        if (instanceId) await instance.delete!(instanceId, {});
        instanceId = undefined;
    };

    before(async () => {
        ({ dir, client, hostKey } = await freshLocalCloud("localcloud-aws-"));
        zone = String(getSubnet({ id: SUBNET }).availabilityZone);
        const eni = await networkInterface.create({ subnetId: SUBNET }, URN("aws:ec2/networkInterface", "nic"));
        [eniId, address] = [eni.id, String(eni.outputs.privateIp)];
        const disk = await volume.create(
            { availabilityZone: zone, size: 1, type: "gp3", encrypted: true },
            URN("aws:ebs/volume", "data"),
        );
        volumeId = disk.id;
    });

    after(async () => {
        await detach().catch(() => undefined);
        await terminate().catch(() => undefined);
        await volume.delete!(volumeId, {}).catch(() => undefined);
        process.env.LOCALCLOUD_DIR = previousDir;
        if (previousDir === undefined) delete process.env.LOCALCLOUD_DIR;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("an instance answers SSH on its interface's address with the user data's host key, and takes only the key pair's key", async () => {
        const { id, outputs } = await launch("member-0");
        assert.match(id, /^i-[0-9a-f]{17}$/);
        assert.equal(outputs.privateIp, address);
        assert.equal(outputs.primaryNetworkInterfaceId, eniId);
        assert.equal(address, "127.0.31.10");
        assert.equal(outputs.availabilityZone, getSubnet({ id: SUBNET }).availabilityZone);
        assert.match(String(outputs.arn), new RegExp(`^arn:aws:ec2:[a-z0-9-]+:000000000000:instance/${id}$`));
        assert.equal((await ssh("echo hello")).stdout, "hello");
        const stranger = await ed25519();
        await assert.rejects(ssh("true", "", stranger.privateKeyOpenssh), /authentication|All configured/i);
        await assert.rejects(
            ssh("true", "", client.privateKeyOpenssh, stranger.publicKeyOpenssh),
            /Dial|host key|Handshake/i,
        );
    });

    it("forwards TCP to loopback addresses, as a bastion in front of members does", async () => {
        const connection = { host: address, user: "ubuntu", privateKey: client.privateKeyOpenssh, dialErrorLimit: 1 };
        const through = await runRemote("echo via-bastion", { connection: { ...connection, proxy: connection } }, {});
        assert.equal(through.stdout, "via-bastion");
    });

    it("`sudo bash -s` runs the script on stdin as root inside the instance's own mount namespace, exit status kept", async () => {
        const result = await ssh("sudo bash -s", "id -u\necho from-instance >/etc/instance-marker\necho err >&2\n");
        assert.deepEqual([result.stdout, result.stderr], ["0", "err"]);
        assert.equal(
            fs.readFileSync(instanceHost(instanceId!).hostPath("/etc/instance-marker"), "utf8"),
            "from-instance\n",
        );
        assert.equal(fs.existsSync("/etc/instance-marker"), false);
        await assert.rejects(ssh("sudo bash -s", "exit 7\n"), /exit status 7/);
    });

    it("stop and start (an instanceType update) restart the enabled units, which see the data volume mounted", async () => {
        await attach();
        await ssh(
            "sudo bash -s",
            `${PREPARE_DATA(volumeId)}mkdir -p /var/lib/etcd/data\necho kept >/var/lib/etcd/data/key\n`,
        );
        await ssh("sudo bash -s", SLEEPER_UNIT);
        const host = instanceHost(instanceId!);
        const before = readPidFile(host.hostPath("/run/sleeper.pid"));
        assert.ok(before !== undefined && isRunning(before));
        const daemonBefore = instanceDaemonPid(instanceId!);
        const olds = { inputs: { instanceType: "t3.small" }, outputs: {} };
        const outputs = await instance.update!(instanceId!, olds, { instanceType: "t3.large" });
        assert.equal(outputs.instanceType, "t3.large");
        assert.equal(isRunning(before), false);
        assert.equal(isRunning(daemonBefore!), false);
        const after = readPidFile(host.hostPath("/run/sleeper.pid"));
        assert.ok(after !== undefined && after !== before && isRunning(after), "the enabled unit runs again");
        const cgroup = instanceCgroup(instanceId!)!;
        assert.equal(
            fs
                .readFileSync(`/proc/${after}/cgroup`, "utf8")
                .split("\n")
                .find((line) => line.startsWith("0::")),
            `0::/${cgroup.path.split("/").slice(-2).join("/")}`,
            "the unit started at boot is in the instance's cgroup",
        );
        assert.equal(fs.readFileSync(host.hostPath("/var/log/sleeper-saw"), "utf8"), "kept\n");
        assert.equal((await ssh("echo back")).stdout, "back");
    });

    it("a volume's data survives instance replacement (detach with stop, terminate, launch, attach)", async () => {
        const host = instanceHost(instanceId!);
        const unitPid = readPidFile(host.hostPath("/run/sleeper.pid"))!;
        await detach();
        assert.equal(isRunning(unitPid), false, "stopInstanceBeforeDetaching stopped the instance");
        await terminate();
        await launch("member-0-replacement");
        await attach();
        const read = await ssh("sudo bash -s", `${PREPARE_DATA(volumeId)}cat /var/lib/etcd/data/key\n`);
        assert.equal(read.stdout, "kept");
    });

    it("a size update grows the attached volume's device in place (ModifyVolume), data kept", async () => {
        const device = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
        const olds = { inputs: { size: 1 }, outputs: { size: 1 } };
        const outputs = await volume.update!(volumeId, olds, { availabilityZone: zone, size: 2, type: "gp3" });
        assert.equal(outputs.size, 2);
        const read = await ssh("sudo bash -s", `blockdev --getsize64 ${device}\ncat /var/lib/etcd/data/key\n`);
        assert.equal(read.stdout, `${2 * 1024 ** 3}\nkept`);
    });

    it("terminate stops the SSH daemon and every process of the host (by PID) and deletes its root", async () => {
        await ssh("sudo bash -s", SLEEPER_UNIT);
        const host = instanceHost(instanceId!);
        const pids = [instanceDaemonPid(instanceId!)!, readPidFile(host.hostPath("/run/sleeper.pid"))!];
        assert.ok(pids.every((pid) => pid !== undefined && isRunning(pid)));
        await detach();
        await terminate();
        assert.deepEqual(pids.filter(isRunning), []);
        assert.equal(fs.existsSync(host.root), false);
        await assert.rejects(ssh("true"), /Dial|ECONNREFUSED/);
    });
});

describe("localcloud aws network: an instance's egress rules apply to what its processes send (real host, nftables)", function () {
    this.timeout(120_000);
    const GROUP = "aws:ec2/securityGroup:SecurityGroup";
    const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
    const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
    /** Where the test's servers listen: outside the local cloud's subnets, beside its own services. */
    const SERVER_ADDRESS = "127.0.19.240";
    const previousDir = process.env.LOCALCLOUD_DIR;
    const servers: net.Server[] = [];
    let dir: string;
    let client: { privateKeyOpenssh: string; publicKeyOpenssh: string };
    let hostKey: { privateKeyOpenssh: string; publicKeyOpenssh: string };
    let groupId: string;
    let address: string;
    let instanceId: string | undefined;
    let eniId: string | undefined;
    /** [a port registered as an HTTPS endpoint's stand-in, a port no rule opens]. */
    let ports: [number, number];

    const create = (type: string, inputs: Properties, name: string) =>
        NETWORK_RESOURCES[type]!.create(inputs, URN(type, name));
    /** The lines a script run on the instance over SSH prints (its processes are in the instance's cgroup). */
    const onInstance = async (script: string) => {
        const connection = {
            host: address,
            user: "ubuntu",
            privateKey: client.privateKeyOpenssh,
            hostKey: hostKey.publicKeyOpenssh,
            dialErrorLimit: 1,
        };
        return (await runRemote("bash -s", { connection, stdin: `${script}\n` }, {})).stdout.split("\n");
    };
    /** What the instance sees of each port: "open" once connected within 3 s, else "blocked" (dropped SYN). */
    const probe = (...probed: number[]) =>
        onInstance(
            probed
                .map(
                    (port) =>
                        `timeout 3 bash -c 'exec 3<>/dev/tcp/${SERVER_ADDRESS}/${port}' && echo open || echo blocked`,
                )
                .join("\n"),
        );
    const fromMachine = (port: number) =>
        new Promise<boolean>((resolve) => {
            const socket = net.connect({ host: SERVER_ADDRESS, port, timeout: 3000 });
            socket.once("connect", () => (socket.destroy(), resolve(true)));
            socket.once("error", () => resolve(false));
            socket.once("timeout", () => (socket.destroy(), resolve(false)));
        });
    const firewallStatus = () =>
        JSON.parse(fs.readFileSync(path.join(dir, "firewall", "firewall.json"), "utf8")) as FirewallStatus;

    before(async () => {
        ({ dir, client, hostKey } = await freshLocalCloud("localcloud-egress-"));
        for (let i = 0; i < 2; i++) {
            const server = net.createServer((socket) => socket.end());
            await new Promise<void>((resolve) => server.listen(0, SERVER_ADDRESS, resolve));
            servers.push(server);
        }
        ports = servers.map((server) => (server.address() as net.AddressInfo).port) as [number, number];
        registerServiceEndpoint({ name: "test-https", address: SERVER_ADDRESS, port: ports[0], standsFor: 443 });
        groupId = (await create(GROUP, { vpcId: "vpc-local", description: "egress test" }, "sg")).id;
        await create(
            INGRESS,
            { securityGroupId: groupId, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "127.0.0.1/32" },
            "ssh",
        );
        await create(
            EGRESS,
            { securityGroupId: groupId, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" },
            "https",
        );
        const eni = await networkInterface.create(
            { subnetId: SUBNET, securityGroups: [groupId] },
            URN("aws:ec2/networkInterface", "nic"),
        );
        [eniId, address] = [eni.id, String(eni.outputs.privateIp)];
        const launched = await instance.create(
            {
                ami: "ami-0c0ffee0000000001",
                instanceType: "t3.small",
                keyName: "test",
                userData: userData(hostKey),
                networkInterfaces: [{ networkInterfaceId: eniId, deviceIndex: 0 }],
            },
            URN(INSTANCE, "egress-0"),
        );
        instanceId = launched.id;
    });

    after(async () => {
        if (instanceId) await instance.delete!(instanceId, {}).catch(() => undefined);
        if (eniId) await networkInterface.delete!(eniId, {}).catch(() => undefined);
        await stopLocalMoto();
        servers.forEach((server) => server.close());
        process.env.LOCALCLOUD_DIR = previousDir;
        if (previousDir === undefined) delete process.env.LOCALCLOUD_DIR;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("egress 443 only: a loopback port outside it is dropped, a stand-in of an HTTPS endpoint passes, a rule added by an update opens the port", async () => {
        const status = firewallStatus();
        assert.equal(status.egressEnforced, true, status.egressReason ?? status.reason);
        const [https, other] = ports;
        assert.deepEqual(await probe(https, other), ["open", "blocked"]);
        assert.equal(await fromMachine(other), true, "the machine's own connections are not the instance's egress");

        const added = await create(
            EGRESS,
            {
                securityGroupId: groupId,
                ipProtocol: "tcp",
                fromPort: other + 1,
                toPort: other + 1,
                cidrIpv4: `${SERVER_ADDRESS}/32`,
            },
            "other",
        );
        assert.deepEqual(await probe(other), ["blocked"], "a rule for another port opens nothing");
        const olds = { inputs: added.outputs, outputs: added.outputs };
        await NETWORK_RESOURCES[EGRESS]!.update!(added.id, olds, { ...added.outputs, fromPort: other, toPort: other });
        assert.deepEqual(await probe(https, other), ["open", "open"]);
    });

    it("the metadata service passes egress rules that open only 443, as AWS never filters it; forgotten, it is dropped like any other port", async () => {
        await startMetadataService();
        const { host, port } = imdsAddress();
        const tokenStatus = `curl -s -m 3 -o /dev/null -w '%{http_code}\\n' -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://${host}:${port}/latest/api/token || true`;
        assert.deepEqual(await onInstance(tokenStatus), ["200"]);
        forgetMetadataService();
        assert.deepEqual(await onInstance(tokenStatus), ["000"]);
    });
});
