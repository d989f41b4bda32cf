// The compute side of the local `aws` provider: ec2.Instance, ec2.NetworkInterface, ec2.Eip, ebs.Volume and
// ec2.VolumeAttachment, with the real provider's id formats and outputs, kept under $LOCALCLOUD_DIR
// (localcloud/aws/state.ts) so that every later provider process finds them.
//
// What is emulated:
// - A network interface is an address: the next free 127.0.<20+k>.<10+n> of its subnet (localcloud/aws/vpc.ts); it
//   outlives instances and keeps its address, as an ENI does. An Eip's public IP is its interface's address (there
//   is only loopback here); an instance's publicIp is that address when an Eip points at its interface or
//   associatePublicIpAddress is set.
// - An instance is a local host (local/host.ts LocalHost rooted in $LOCALCLOUD_DIR/hosts/<id>/root: private /etc,
//   /usr/local, /opt, /var/lib/etcd, /var/log, /run, /root bind-mounted in a mount namespace of its own per command)
//   and a detached SSH daemon (localcloud/aws/sshd.ts) on <interface address>:22 with the host key of the user data
//   (cloud-config ssh_keys.ed25519_private; a fresh ED25519 key when there is none, as cloud-init generates one),
//   taking only the key pair's public key ($LOCALCLOUD_DIR/key-pairs/<keyName>.pub) for any user name, commands run
//   as root in the host's namespace (`sudo` is a shim). The host key is read at launch only: cloud-init applies
//   ssh_keys on an instance's first boot, so a later userData update keeps it.
// - Stop (an instanceType or userData update, a detach with stopInstanceBeforeDetaching) stops the daemon and every
//   process of the host (found by their mount namespace's /etc, so etcd under the systemctl shim and any command
//   still running), and empties /run (a tmpfs on EC2); start ("boot") starts the daemon, then every unit enabled
//   in the host's /etc/systemd/system/*.wants (the systemctl shim). A stopped instance keeps its root; terminate
//   (delete) stops it and deletes the root, its own network interface and its deleteOnTermination volumes.
// - A volume is a sparse image file of its size (GiB) that outlives instances (localcloud/aws/disks.ts); an
//   attachment makes it a loop device the host sees as /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<vol...>
//   (Nitro naming), so the install script's wait, blkid, mkfs.ext4 and fstab mount by UUID run for real; every
//   command and service entering the host mounts its fstab's UUID entries (local/enter-host.sh), as boot does. A
//   size increase grows the image and the loop device; the filesystem is the host's business (resize2fs).
//   The volume and the instance must be in one zone, a volume is attached to one instance at a time, and an
//   attached volume or interface cannot be deleted (VolumeInUse / InvalidNetworkInterface.InUse), as on AWS.
// - The old graph's instance-inline block devices (ebsBlockDevices) are volumes created and attached at launch.
// - Every process of an instance is in the instance's cgroup (localcloud/aws/cgroups.ts): its SSH daemon, so the
//   commands of every session and what they start, and the units its boot starts. That is what tells its traffic
//   from the machine's, so its security groups' egress rules apply to it (localcloud/aws/network.ts).
//
// What is not: CPU, memory and instance type limits (an instance type is a label, the host is this machine; the
// AMI is a label too, every image boots this machine's userland), Xen device names (/dev/xvdf; every instance
// type gets the Nitro NVMe names), the root volume (a directory; its size, type and encryption are only recorded),
// encryption and KMS (recorded), IOPS and throughput (recorded), instance metadata (IMDS), cloud-init beyond the
// host key (other user data is stored, not run), console output, placement, and a host's own network stack (all
// hosts share this machine's loopback; security group rules are localcloud/aws/network.ts's business).
// Record mode (LOCALCLOUD_RECORD=1): the same records, ids (hashed from the URN, so two recordings agree) and
// outputs, and no host, daemon, image or loop device.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { LocalHost } from "../../local/host";
import { awsDiff } from "../providers/aws";
import { OldState, Properties, ResourceType } from "../providers/server";
import { privateKey } from "../providers/tls";
import { createInstanceCgroup, inInstanceCgroup, moveToInstanceCgroup, removeInstanceCgroup } from "./cgroups";
import { attachDisk, createDisk, deleteDisk, detachDisk, growDisk } from "./disks";
import { dnsServerAddress } from "./dns";
import { syncFirewall } from "./network";
import { daemonPid, startDaemon, stopDaemon } from "./sshd";
import { localcloudDir, newId, recordMode, ResourceStore } from "./state";
import { ACCOUNT_ID, claimAddress, ec2Arn, getSubnet, region, releaseAddress, subnet } from "./vpc";

/** Where a key pair's public key is (what `keyName` names), in authorized_keys form. */
export function keyPairPath(name: string): string {
    return path.join(localcloudDir(), "key-pairs", `${name}.pub`);
}

/** Imports a key pair (ec2.ImportKeyPair): the public key line the instances launched with `name` accept. */
export function importKeyPair(name: string, publicKey: string): void {
    fs.mkdirSync(path.dirname(keyPairPath(name)), { recursive: true });
    fs.writeFileSync(keyPairPath(name), `${publicKey.trim()}\n`);
}

/** What the state keeps of a resource: its outputs (what the engine got), and the emulation's own facts. */
interface Stored {
    outputs: Properties;
}

interface InstanceRecord extends Stored {
    address: string;
    hostKey: string;
    authorizedKey: string;
    state: "running" | "stopped";
    /** The interface launched with the instance (no networkInterfaces given): deleted with it. */
    ownNetworkInterface?: string;
    /** The volumes of ebsBlockDevices with deleteOnTermination. */
    deleteOnTermination: string[];
}

const instances = new ResourceStore<InstanceRecord>("instances");
const networkInterfaces = new ResourceStore<Stored>("network-interfaces");
const eips = new ResourceStore<Stored>("eips");
const volumes = new ResourceStore<Stored>("volumes");
const attachments = new ResourceStore<Stored>("volume-attachments");

/**
 * An id of the real form (prefix and 17 hex digits). In record mode it is hashed from the URN and `salt`, so that two
 * recordings agree; a replacement created before its predecessor is deleted (same URN) takes the next hash that
 * `taken` does not hold.
 */
function resourceId(prefix: string, urn: string, salt = "", taken?: ResourceStore<unknown>): string {
    if (!recordMode()) return newId(prefix);
    for (let round = 0; ; round++) {
        const hash = crypto.createHash("sha256").update(`${urn}${salt}${round ? `#${round}` : ""}`);
        const id = `${prefix}${hash.digest("hex").slice(0, 17)}`;
        if (!taken?.get(id)) return id;
    }
}

const hostDir = (instanceId: string): string => path.join(localcloudDir(), "hosts", instanceId);
const hostOf = (instanceId: string, record: InstanceRecord): LocalHost =>
    new LocalHost(instanceId, record.address, path.join(hostDir(instanceId), "root"), true);

function required<T>(store: ResourceStore<T>, id: string, what: string): T {
    const found = store.get(id);
    if (!found) throw new Error(`${what}.NotFound: the ${what} '${id}' does not exist`);
    return found;
}

/** The tags as state shows them: tags, and tagsAll (no provider default tags here). */
const tagged = (inputs: Properties): Properties => ({ tags: inputs.tags ?? {}, tagsAll: inputs.tags ?? {} });

const privateDns = (address: string): string =>
    `ip-${address.replace(/\./g, "-")}.${region() === "us-east-1" ? "ec2.internal" : `${region()}.compute.internal`}`;

// ---------------------------------------------------------------------------------------------------------------
// Network interfaces and Elastic IPs

function interfaceOutputs(id: string, inputs: Properties, address: string): Properties {
    const mac = crypto.createHash("sha256").update(id).digest("hex");
    return {
        ...inputs,
        ...tagged(inputs),
        arn: ec2Arn(`network-interface/${id}`),
        attachments: inputs.attachments ?? [],
        description: inputs.description ?? "",
        interfaceType: inputs.interfaceType ?? "interface",
        macAddress: `02:${[2, 4, 6, 8, 10].map((i) => mac.slice(i, i + 2)).join(":")}`,
        ownerId: ACCOUNT_ID,
        privateDnsName: privateDns(address),
        privateIp: address,
        privateIps: [address],
        privateIpLists: [address],
        privateIpsCount: 0,
        securityGroups: inputs.securityGroups ?? [],
        sourceDestCheck: inputs.sourceDestCheck ?? true,
    };
}

/** Creates an interface in `subnetId` (the resource's create, and an instance's own interface at launch). */
function createInterface(urn: string, salt: string, inputs: Properties): { id: string; outputs: Properties } {
    const id = resourceId("eni-", urn, salt, networkInterfaces);
    const address = claimAddress(String(inputs.subnetId), id);
    const outputs = interfaceOutputs(id, inputs, address);
    networkInterfaces.put(id, { outputs });
    syncFirewall();
    return { id, outputs };
}

function deleteInterface(id: string): void {
    const stored = networkInterfaces.get(id);
    if (!stored) return;
    const user = instances.list().find(([, record]) => record.outputs.primaryNetworkInterfaceId === id);
    if (user) {
        throw new Error(`InvalidNetworkInterface.InUse: interface ${id} is attached to instance ${user[0]}`);
    }
    releaseAddress(String(stored.outputs.privateIp));
    networkInterfaces.remove(id);
    syncFirewall();
}

export const networkInterface: ResourceType = {
    diff: (olds: OldState, news: Properties) => awsDiff("aws:ec2/networkInterface:NetworkInterface", olds, news),
    create: async (inputs, urn) => createInterface(urn, "", inputs),
    update: async (id, olds, news) => {
        const outputs = interfaceOutputs(id, news, String(olds.outputs.privateIp));
        networkInterfaces.put(id, { outputs: { ...outputs, attachments: olds.outputs.attachments ?? [] } });
        syncFirewall();
        return outputs;
    },
    delete: async (id) => deleteInterface(id),
    read: (id, outputs) => networkInterfaces.get(id)?.outputs ?? outputs,
};

function eipOutputs(id: string, inputs: Properties, urn: string): Properties {
    const eni = typeof inputs.networkInterface === "string" ? inputs.networkInterface : undefined;
    const attachedTo = eni ? required(networkInterfaces, eni, "InvalidNetworkInterfaceID").outputs : undefined;
    const address = attachedTo ? String(attachedTo.privateIp) : "";
    return {
        ...inputs,
        ...tagged(inputs),
        allocationId: id,
        arn: ec2Arn(`elastic-ip/${id}`),
        associationId: eni ? resourceId("eipassoc-", urn, eni) : "",
        domain: inputs.domain ?? "vpc",
        instance:
            instances.list().find(([, record]) => eni && record.outputs.primaryNetworkInterfaceId === eni)?.[0] ?? "",
        networkInterface: eni ?? "",
        privateIp: address,
        privateDns: address ? privateDns(address) : "",
        publicIp: address,
        publicDns: address ? `ec2-${address.replace(/\./g, "-")}.compute-1.amazonaws.com` : "",
        publicIpv4Pool: "amazon",
        networkBorderGroup: region(),
    };
}

export const eip: ResourceType = {
    diff: (olds, news) => awsDiff("aws:ec2/eip:Eip", olds, news),
    create: async (inputs, urn) => {
        const id = resourceId("eipalloc-", urn, "", eips);
        const outputs = eipOutputs(id, inputs, urn);
        eips.put(id, { outputs });
        return { id, outputs };
    },
    update: async (id, _olds, news) => {
        const outputs = eipOutputs(id, news, id);
        eips.put(id, { outputs });
        return outputs;
    },
    delete: async (id) => eips.remove(id),
    read: (id, outputs) => eips.get(id)?.outputs ?? outputs,
};

// ---------------------------------------------------------------------------------------------------------------
// Volumes and attachments

/** gp2 is EC2's default type; an encrypted volume without a key gets the account's aws/ebs key. */
function volumeOutputs(id: string, inputs: Properties): Properties {
    const encrypted = inputs.encrypted === true;
    return {
        ...inputs,
        ...tagged(inputs),
        arn: ec2Arn(`volume/${id}`),
        encrypted,
        finalSnapshot: inputs.finalSnapshot ?? false,
        iops: inputs.iops ?? (inputs.type === "gp3" ? 3000 : 0),
        kmsKeyId:
            inputs.kmsKeyId ?? (encrypted ? `arn:aws:kms:${region()}:${ACCOUNT_ID}:key/local-aws-ebs-default` : ""),
        multiAttachEnabled: inputs.multiAttachEnabled ?? false,
        size: Number(inputs.size ?? 8),
        snapshotId: inputs.snapshotId ?? "",
        throughput: inputs.throughput ?? (inputs.type === "gp3" ? 125 : 0),
        type: inputs.type ?? "gp2",
    };
}

function createVolume(urn: string, salt: string, inputs: Properties): { id: string; outputs: Properties } {
    const id = resourceId("vol-", urn, salt, volumes);
    const outputs = volumeOutputs(id, inputs);
    if (!recordMode()) createDisk(id, Number(outputs.size));
    volumes.put(id, { outputs });
    return { id, outputs };
}

function deleteVolume(id: string): void {
    const user = attachments.list().find(([, stored]) => stored.outputs.volumeId === id);
    if (user) throw new Error(`VolumeInUse: volume ${id} is attached to ${user[1].outputs.instanceId}`);
    if (!recordMode()) deleteDisk(id);
    volumes.remove(id);
}

export const volume: ResourceType = {
    diff: (olds, news) => awsDiff("aws:ebs/volume:Volume", olds, news),
    create: async (inputs, urn) => createVolume(urn, "", inputs),
    update: async (id, olds, news) => {
        const outputs = volumeOutputs(id, news);
        if (!recordMode() && outputs.size !== olds.outputs.size) growDisk(id, Number(outputs.size));
        volumes.put(id, { outputs });
        return outputs;
    },
    delete: async (id) => deleteVolume(id),
    read: (id, outputs) => volumes.get(id)?.outputs ?? outputs,
};

/** terraform's volumeAttachmentID: "vai-" and the CRC-32 of "<device>-<instance>-<volume>-". */
export function volumeAttachmentId(deviceName: string, instanceId: string, volumeId: string): string {
    return `vai-${crc32(`${deviceName}-${instanceId}-${volumeId}-`)}`;
}

function crc32(text: string): number {
    let crc = 0xffffffff;
    for (const byte of Buffer.from(text)) {
        crc ^= byte;
        for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
}

/** Attaches a volume to an instance (the attachment's create, and an instance's block devices at launch). */
function attachVolume(volumeId: string, instanceId: string, deviceName: string): void {
    const instance = required(instances, instanceId, "InvalidInstanceID");
    const disk = required(volumes, volumeId, "InvalidVolume");
    if (disk.outputs.availabilityZone !== instance.outputs.availabilityZone) {
        throw new Error(
            `InvalidVolume.ZoneMismatch: volume ${volumeId} is in ${String(disk.outputs.availabilityZone)}, ` +
                `instance ${instanceId} in ${String(instance.outputs.availabilityZone)}`,
        );
    }
    const other = attachments
        .list()
        .find(([, stored]) => stored.outputs.volumeId === volumeId && stored.outputs.instanceId !== instanceId);
    if (other) throw new Error(`VolumeInUse: volume ${volumeId} is attached to ${other[1].outputs.instanceId}`);
    if (!recordMode()) attachDisk(volumeId, path.join(hostDir(instanceId), "root"));
    attachments.put(volumeAttachmentId(deviceName, instanceId, volumeId), {
        outputs: { deviceName, instanceId, volumeId },
    });
}

async function detachVolume(volumeId: string, instanceId: string, deviceName: string, force = false): Promise<void> {
    if (!recordMode()) await detachDisk(volumeId, path.join(hostDir(instanceId), "root"), force);
    attachments.remove(volumeAttachmentId(deviceName, instanceId, volumeId));
}

export const volumeAttachment: ResourceType = {
    diff: (olds, news) => awsDiff("aws:ec2/volumeAttachment:VolumeAttachment", olds, news),
    create: async (inputs) => {
        const [deviceName, instanceId, volumeId] = [inputs.deviceName, inputs.instanceId, inputs.volumeId].map(String);
        attachVolume(volumeId!, instanceId!, deviceName!);
        return { id: volumeAttachmentId(deviceName!, instanceId!, volumeId!), outputs: { ...inputs } };
    },
    // skipDestroy: the volume stays attached, only the state forgets it. stopInstanceBeforeDetaching: the
    // instance is stopped first (and stays stopped, as the provider leaves it), so nothing holds the filesystem.
    delete: async (_id, outputs) => {
        const [deviceName, instanceId, volumeId] = [outputs.deviceName, outputs.instanceId, outputs.volumeId].map(
            String,
        );
        if (outputs.skipDestroy === true) {
            attachments.remove(volumeAttachmentId(deviceName!, instanceId!, volumeId!));
            return;
        }
        if (outputs.stopInstanceBeforeDetaching === true && instances.get(instanceId!)?.state === "running") {
            await stopInstance(instanceId!);
        }
        await detachVolume(volumeId!, instanceId!, deviceName!, outputs.forceDetach === true);
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Instances

/** The user data as text (userData, or userDataBase64 decoded). */
function userDataText(inputs: Properties): string {
    if (typeof inputs.userData === "string") return inputs.userData;
    if (typeof inputs.userDataBase64 === "string") return Buffer.from(inputs.userDataBase64, "base64").toString();
    return "";
}

/** cloud-config's ssh_keys.ed25519_private, if the user data is cloud-config and has one. */
export function userDataHostKey(userData: string): string | undefined {
    if (!userData.startsWith("#cloud-config")) return undefined;
    const config = yaml.load(userData) as { ssh_keys?: { ed25519_private?: unknown } } | undefined;
    const key = config?.ssh_keys?.ed25519_private;
    return typeof key === "string" ? key : undefined;
}

async function hostKeyOf(inputs: Properties): Promise<string> {
    const given = userDataHostKey(userDataText(inputs));
    if (given) return given;
    const generated = await privateKey.create({ algorithm: "ED25519" }, "urn:pulumi:local::cloud::host-key::k");
    return String(generated.outputs.privateKeyOpenssh);
}

function authorizedKeyOf(keyName: unknown): string {
    if (typeof keyName !== "string" || keyName === "") return "";
    try {
        return fs.readFileSync(keyPairPath(keyName), "utf8").trim();
    } catch {
        if (recordMode()) return "";
        throw new Error(`InvalidKeyPair.NotFound: the key pair '${keyName}' does not exist (${keyPairPath(keyName)})`);
    }
}

/**
 * The units enabled in the host's /etc/systemd/system/<target>.wants that the systemctl shim runs (their unit file
 * is in that directory: the copied /etc also enables this machine's own units, which are not the host's).
 */
function enabledUnits(root: string): string[] {
    const unitDir = path.join(root, "etc/systemd/system");
    if (!fs.existsSync(unitDir)) return [];
    const units = fs
        .readdirSync(unitDir)
        .filter((entry) => entry.endsWith(".wants"))
        .flatMap((wants) => fs.readdirSync(path.join(unitDir, wants)))
        .filter((unit) => fs.statSync(path.join(unitDir, unit), { throwIfNoEntry: false })?.isFile());
    return [...new Set(units)].sort();
}

/** Boots a stopped (or new) instance: its SSH daemon, then its enabled units. */
async function bootInstance(instanceId: string, record: InstanceRecord): Promise<void> {
    const host = hostOf(instanceId, record);
    const daemon = await startDaemon(hostDir(instanceId), {
        name: instanceId,
        address: record.address,
        port: 22,
        root: host.root,
        hostKey: record.hostKey,
        authorizedKey: record.authorizedKey,
    });
    // Every process of the instance is in its cgroup (its egress, localcloud/aws/network.ts): the daemon, whose
    // sessions' commands are its children, and the units started here.
    moveToInstanceCgroup(instanceId, daemon);
    for (const unit of enabledUnits(host.root)) {
        const result = await host.exec(inInstanceCgroup(instanceId, ["systemctl", "start", unit]), {
            timeoutMs: 60_000,
        });
        if (result.code !== 0) {
            process.stderr.write(`local aws provider: ${instanceId}: ${unit} did not start: ${result.stderr}\n`);
        }
    }
}

/** Stops a running instance: its daemon and every process of its host; /run (a tmpfs on EC2) is emptied. */
export async function stopInstance(instanceId: string): Promise<void> {
    const record = required(instances, instanceId, "InvalidInstanceID");
    if (!recordMode()) {
        const host = hostOf(instanceId, record);
        await stopDaemon(hostDir(instanceId));
        await host.stopProcesses();
        const run = host.hostPath("/run");
        for (const entry of fs.existsSync(run) ? fs.readdirSync(run) : []) {
            fs.rmSync(path.join(run, entry), { recursive: true, force: true });
        }
    }
    instances.put(instanceId, {
        ...record,
        state: "stopped",
        outputs: { ...record.outputs, instanceState: "stopped" },
    });
}

/** Starts a stopped instance (boot). */
export async function startInstance(instanceId: string): Promise<void> {
    const record = required(instances, instanceId, "InvalidInstanceID");
    if (!recordMode()) await bootInstance(instanceId, record);
    instances.put(instanceId, {
        ...record,
        state: "running",
        outputs: { ...record.outputs, instanceState: "running" },
    });
}

/** The interface the instance launches with: the given one (device 0), or its own in subnetId. */
function launchInterface(inputs: Properties, urn: string): { id: string; outputs: Properties; own: boolean } {
    const given = (inputs.networkInterfaces as Properties[] | undefined)?.find(
        (entry) => Number(entry.deviceIndex ?? 0) === 0,
    );
    if (given) {
        const id = String(given.networkInterfaceId);
        const inUse = instances.list().find(([, record]) => record.outputs.primaryNetworkInterfaceId === id);
        if (inUse) throw new Error(`InvalidNetworkInterface.InUse: interface ${id} is attached to ${inUse[0]}`);
        return { id, outputs: required(networkInterfaces, id, "InvalidNetworkInterfaceID").outputs, own: false };
    }
    const subnetId = typeof inputs.subnetId === "string" ? inputs.subnetId : String(getSubnet({}).id);
    const created = createInterface(urn, "primary", {
        subnetId,
        securityGroups: inputs.vpcSecurityGroupIds ?? [],
        privateIp: inputs.privateIp,
    });
    return { ...created, own: true };
}

/** Whether the instance has a public address: an Eip on its interface, or one asked for at launch. */
function publicAddress(inputs: Properties, eniId: string, address: string): string {
    const elastic = eips.list().find(([, stored]) => stored.outputs.networkInterface === eniId);
    return elastic || inputs.associatePublicIpAddress === true ? address : "";
}

function instanceOutputs(id: string, inputs: Properties, eni: { id: string; outputs: Properties }): Properties {
    const address = String(eni.outputs.privateIp);
    const publicIp = publicAddress(inputs, eni.id, address);
    const zone = subnet(String(eni.outputs.subnetId)).availabilityZone;
    return {
        ...inputs,
        ...tagged(inputs),
        arn: ec2Arn(`instance/${id}`),
        availabilityZone: zone,
        instanceState: "running",
        ownerId: ACCOUNT_ID,
        primaryNetworkInterfaceId: eni.id,
        privateDns: privateDns(address),
        privateIp: address,
        publicDns: publicIp ? `ec2-${publicIp.replace(/\./g, "-")}.compute-1.amazonaws.com` : "",
        publicIp,
        subnetId: eni.outputs.subnetId,
        vpcSecurityGroupIds: eni.outputs.securityGroups ?? [],
        securityGroups: [],
        tenancy: inputs.tenancy ?? "default",
    };
}

/** The instance's inline data volumes (ebsBlockDevices), created and attached at launch, with their ids. */
function launchBlockDevices(id: string, inputs: Properties, urn: string, zone: string): Properties[] {
    return ((inputs.ebsBlockDevices as Properties[] | undefined) ?? []).map((device) => {
        const deviceName = String(device.deviceName);
        const { id: volumeId } = createVolume(urn, deviceName, {
            availabilityZone: zone,
            size: device.volumeSize ?? 8,
            type: device.volumeType,
            iops: device.iops,
            throughput: device.throughput,
            encrypted: device.encrypted,
            kmsKeyId: device.kmsKeyId,
            tags: device.tags,
        });
        attachVolume(volumeId, id, deviceName);
        return { ...device, volumeId };
    });
}

export const instance: ResourceType = {
    diff: (olds, news) => awsDiff("aws:ec2/instance:Instance", olds, news),
    create: async (inputs, urn) => {
        const id = resourceId("i-", urn, "", instances);
        const authorizedKey = authorizedKeyOf(inputs.keyName);
        const hostKey = await hostKeyOf(inputs);
        const eni = launchInterface(inputs, urn);
        const address = String(eni.outputs.privateIp);
        const outputs = instanceOutputs(id, inputs, eni);
        const record: InstanceRecord = {
            outputs,
            address,
            hostKey,
            authorizedKey,
            state: "running",
            ownNetworkInterface: eni.own ? eni.id : undefined,
            deleteOnTermination: [],
        };
        if (!recordMode()) {
            LocalHost.create(path.join(hostDir(id), "root"), id, address, {
                // The VPC resolver (AmazonProvidedDNS) of every host: the local cloud's dnsmasq.
                nameserver: dnsServerAddress(),
                ownVarLib: true,
            });
            createInstanceCgroup(id);
        }
        instances.put(id, record);
        const blockDevices = launchBlockDevices(id, inputs, urn, String(outputs.availabilityZone));
        const rootVolumeId = resourceId("vol-", urn, "root");
        const launched: InstanceRecord = {
            ...record,
            deleteOnTermination: blockDevices
                .filter((d) => d.deleteOnTermination !== false)
                .map((d) => String(d.volumeId)),
            outputs: {
                ...outputs,
                ebsBlockDevices: blockDevices,
                rootBlockDevice: {
                    deleteOnTermination: true,
                    ...((inputs.rootBlockDevice as Properties | undefined) ?? {}),
                    deviceName: "/dev/sda1",
                    volumeId: rootVolumeId,
                },
            },
        };
        instances.put(id, launched);
        syncFirewall();
        try {
            if (!recordMode()) await bootInstance(id, launched);
        } catch (error) {
            await terminate(id);
            throw error;
        }
        return { id, outputs: launched.outputs };
    },
    // ModifyInstanceAttribute of the instance type and the user data needs a stopped instance: stop, modify, start.
    update: async (id, olds, news) => {
        const record = required(instances, id, "InvalidInstanceID");
        const restart = ["instanceType", "userData", "userDataBase64"].some(
            (name) => JSON.stringify(olds.inputs[name]) !== JSON.stringify(news[name]),
        );
        if (restart && record.state === "running") await stopInstance(id);
        const outputs = {
            ...record.outputs,
            ...news,
            ...tagged(news),
            ebsBlockDevices: record.outputs.ebsBlockDevices,
            rootBlockDevice: record.outputs.rootBlockDevice,
        };
        instances.put(id, { ...required(instances, id, "InvalidInstanceID"), outputs });
        if (restart) await startInstance(id);
        syncFirewall();
        return { ...outputs, instanceState: "running" };
    },
    delete: async (id) => terminate(id),
    // Refresh sees the public address of an Eip associated since launch.
    read: (id, outputs) => {
        const record = instances.get(id);
        if (!record) return outputs;
        const eniId = String(record.outputs.primaryNetworkInterfaceId);
        return { ...record.outputs, publicIp: publicAddress(record.outputs, eniId, record.address) };
    },
};

/** Terminates an instance: stopped, its volumes detached (deleteOnTermination ones deleted), its root deleted. */
async function terminate(id: string): Promise<void> {
    const record = instances.get(id);
    if (!record) return;
    await stopInstance(id);
    for (const [, stored] of attachments.list().filter(([, a]) => a.outputs.instanceId === id)) {
        await detachVolume(String(stored.outputs.volumeId), id, String(stored.outputs.deviceName));
    }
    for (const volumeId of record.deleteOnTermination) deleteVolume(volumeId);
    instances.remove(id);
    removeInstanceCgroup(id);
    if (record.ownNetworkInterface) deleteInterface(record.ownNetworkInterface);
    fs.rmSync(hostDir(id), { recursive: true, force: true });
    syncFirewall();
}

/** Whether the instance's SSH daemon runs (tests, and the local stack's status). */
export function instanceDaemonPid(instanceId: string): number | undefined {
    return daemonPid(hostDir(instanceId));
}

/** The local host an instance is (tests, and the local stack's tools). */
export function instanceHost(instanceId: string): LocalHost {
    return hostOf(instanceId, required(instances, instanceId, "InvalidInstanceID"));
}

/** The compute resource types of the local aws provider, by type token. */
export const COMPUTE_RESOURCES: Record<string, ResourceType> = {
    "aws:ec2/instance:Instance": instance,
    "aws:ec2/networkInterface:NetworkInterface": networkInterface,
    "aws:ec2/eip:Eip": eip,
    "aws:ebs/volume:Volume": volume,
    "aws:ec2/volumeAttachment:VolumeAttachment": volumeAttachment,
};
