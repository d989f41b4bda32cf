import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { EtcdClusterArgs, EtcdClusterConfigError, SshSettings } from "../../components";
import { constructionError, flagMap, launchFlags, ofType, runCluster, runClusters } from "../helpers/cluster";
import { named } from "../../plan/mock-engine";
import { at } from "../helpers/elements";

const INSTANCE = "aws:ec2/instance:Instance";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfrglhIhHHcKEPAt5L/OVgs2OVTiXnFCMwg29q23RHx bastion";
const COMMAND = "command:remote:Command";

/** Runs `body` with the AWS region the backups sign for set. */
async function withRegion<T>(body: () => Promise<T>): Promise<T> {
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = "eu-west-1";
    try {
        return await body();
    } finally {
        if (saved === undefined) delete process.env.AWS_REGION;
        else process.env.AWS_REGION = saved;
    }
}

describe("EtcdCluster", () => {
    describe("members", () => {
        for (const count of [1, 3, 5, 7]) {
            it(`creates ${count} instance(s) named <cluster>-<n>, their interfaces dealt over the default VPC's zones in turn`, async () => {
                const run = await runCluster({ memberCount: count });
                const instances = ofType(run, INSTANCE);
                assert.deepEqual(
                    instances.map((i) => i.name).sort(),
                    Array.from({ length: count }, (_, i) => `test-etcd-${i}`),
                );
                const sortedSubnets = ["subnet-a", "subnet-b", "subnet-c"];
                assert.deepEqual(
                    Array.from({ length: count }, (_, i) => named(run, `test-etcd-${i}-nic`).inputs.subnetId),
                    Array.from({ length: count }, (_, i) => sortedSubnets[i % 3]),
                );
            });
        }

        it("places members in the given subnets in turn and never asks for the default VPC", async () => {
            const run = await runCluster({
                memberCount: 5,
                vpcId: "vpc-1",
                subnetIds: ["subnet-1", "subnet-2", "subnet-3"],
            });
            assert.deepEqual(
                [0, 1, 2, 3, 4].map((i) => named(run, `test-etcd-${i}-nic`).inputs.subnetId),
                ["subnet-1", "subnet-2", "subnet-3", "subnet-1", "subnet-2"],
            );
            assert.deepEqual(
                run.invokes.filter(
                    (i) => i.token.startsWith("aws:ec2/getVpc") || i.token.startsWith("aws:ec2/getSubnets"),
                ),
                [],
            );
        });

        it("requires IMDSv2, encrypts root and data volumes, and tags each member", async () => {
            const run = await runCluster({
                volumeSizeGiB: 50,
                volumeType: "io2",
                volumeIops: 4000,
                kmsKeyId: "key-1",
                tags: { team: "infra" },
            });
            for (const instance of ofType(run, INSTANCE)) {
                assert.equal(instance.inputs.metadataOptions.httpTokens, "required");
                assert.equal(instance.inputs.rootBlockDevice.encrypted, true);
                assert.equal(instance.inputs.ebsBlockDevices, undefined, "the data volume is its own resource");
                const data = named(run, `${instance.name}-data`);
                assert.deepEqual(
                    {
                        encrypted: data.inputs.encrypted,
                        size: data.inputs.size,
                        type: data.inputs.type,
                        iops: data.inputs.iops,
                        kms: data.inputs.kmsKeyId,
                        zone: data.inputs.availabilityZone,
                        name: data.inputs.tags.Name,
                    },
                    {
                        encrypted: true,
                        size: 50,
                        type: "io2",
                        iops: 4000,
                        kms: "key-1",
                        zone: `zone of ${named(run, `${instance.name}-nic`).inputs.subnetId}`,
                        name: `${instance.name}-data`,
                    },
                );
                assert.equal(instance.inputs.tags.Name, instance.name);
                assert.equal(instance.inputs.tags["etcd-aws:cluster"], "test-etcd");
                assert.equal(instance.inputs.tags.team, "infra");
            }
        });

        it("looks up Canonical's Ubuntu 24.04 image for the instance type's architecture", async () => {
            for (const [instanceType, arch] of [
                ["t3.medium", "amd64"],
                ["m7g.large", "arm64"],
            ]) {
                const run = await runCluster({ instanceType });
                const ami = run.invokes.find((i) => i.token === "aws:ec2/getAmi:getAmi");
                assert.deepEqual(ami?.inputs.owners, ["099720109477"]);
                assert.equal(
                    ami?.inputs.filters[0].values[0],
                    `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch}-server-*`,
                );
                assert.equal(at(ofType(run, INSTANCE), 0, "instance").inputs.ami, `ami-${arch}`);
                assert.match(
                    named(run, "test-etcd-0-install").inputs.stdin,
                    new RegExp(`etcd-v3\\.6\\.14-linux-${arch}\\.tar\\.gz`),
                );
            }
        });

        it("connects to each member's Elastic IP by default and through the bastion to its interface's private IP when one is set", async () => {
            const direct = await runCluster({});
            const eip = named(direct, "test-etcd-0-eip");
            assert.deepEqual([eip.inputs.domain, eip.inputs.networkInterface], ["vpc", "test-etcd-0-nic-id"]);
            assert.equal(named(direct, "test-etcd-0-install").inputs.connection.host, eip.state.publicIp);
            assert.equal(eip.state.publicIp, "198.51.100.1");
            const viaBastion = await runCluster({
                ssh: { privateKey: "k", user: "ec2-user", bastion: { host: "bastion.example.com", hostKey: HOST_KEY } },
                privateEgress: "nat",
            });
            const connection = named(viaBastion, "test-etcd-0-install").inputs.connection;
            assert.equal(connection.host, named(viaBastion, "test-etcd-0-nic").state.privateIp);
            const { host, user, privateKey, port, hostKey } = connection.proxy;
            assert.deepEqual(
                { host, user, privateKey, port, hostKey },
                { host: "bastion.example.com", user: "ec2-user", privateKey: "k", port: 22, hostKey: HOST_KEY },
            );
            assert.equal(ofType(viaBastion, "aws:ec2/eip:Eip").length, 0, "private members get no public address");
        });

        it("accepts the SSH settings as one secret output, as other languages send them (privateEgress says members are private)", async () => {
            const ssh = pulumi.secret({
                privateKey: "k",
                user: "admin",
                bastion: { host: "bastion.example.com", hostKey: HOST_KEY },
            });
            const run = await runCluster({ ssh: ssh as unknown as SshSettings, privateEgress: "nat" });
            const connection = named(run, "test-etcd-0-install").inputs.connection;
            assert.deepEqual(
                [connection.host, connection.user, connection.proxy.host, connection.proxy.hostKey],
                [named(run, "test-etcd-0-nic").state.privateIp, "admin", "bastion.example.com", HOST_KEY],
            );
            assert.equal(ofType(run, "aws:ec2/eip:Eip").length, 0);
        });

        it("waits for SSH without a dial limit before installing, and installs onto the member's data volume", async () => {
            const run = await runCluster({});
            const wait = named(run, "test-etcd-1-wait");
            assert.equal(wait.inputs.connection.dialErrorLimit, -1);
            assert.equal(wait.customTimeouts?.create, "15m");
            const install = named(run, "test-etcd-1-install");
            assert.ok(install.dependencies.has("test-etcd-1-wait"));
            assert.ok(install.dependencies.has("test-etcd-1-attach"), "the volume is attached first");
            assert.equal(install.inputs.create, "sudo bash -s");
            assert.match(install.inputs.stdin, /DATA_VOLUME_ID='test-etcd-1-data-id'/);
            assert.match(
                install.inputs.stdin,
                /RELEASE_URL='https:\/\/github\.com\/etcd-io\/etcd\/releases\/download\/v3\.6\.14'/,
            );
        });
    });

    describe("start commands per bootstrap mode", () => {
        it("static: every member lists all three with their IP peer URLs, state new, one token", async () => {
            const run = await runCluster({ bootstrapMode: "static", tls: false, etcdVersion: "3.5.21" });
            const initial =
                "test-etcd-0=http://10.0.1.10:2380,test-etcd-1=http://10.0.2.10:2380,test-etcd-2=http://10.0.3.10:2380";
            [0, 1, 2].forEach((i) => {
                const flags = flagMap(launchFlags(run, `test-etcd-${i}`));
                const ip = `10.0.${i + 1}.10`;
                assert.equal(flags.name, `test-etcd-${i}`);
                assert.equal(flags["initial-advertise-peer-urls"], `http://${ip}:2380`);
                assert.equal(flags["listen-peer-urls"], `http://${ip}:2380`);
                assert.equal(flags["listen-client-urls"], `http://${ip}:2379,http://127.0.0.1:2379`);
                assert.equal(flags["advertise-client-urls"], `http://${ip}:2379`);
                assert.equal(flags["initial-cluster"], initial);
                assert.equal(flags["initial-cluster-state"], "new");
                assert.equal(flags["initial-cluster-token"], "etcd-aws-test-test-etcd");
                assert.equal(flags["data-dir"], "/var/lib/etcd/data");
                assert.equal(flags.discovery, undefined);
            });
        });

        it("dns: members advertise their DNS names over https and bootstrap from --discovery-srv", async () => {
            const run = await runCluster({ bootstrapMode: "dns", domain: "etcd.example.internal", srvName: "blue" });
            const flags = flagMap(launchFlags(run, "test-etcd-2"));
            assert.equal(flags["discovery-srv"], "etcd.example.internal");
            assert.equal(flags["discovery-srv-name"], "blue");
            assert.equal(flags["initial-advertise-peer-urls"], "https://test-etcd-2.etcd.example.internal:2380");
            assert.equal(flags["advertise-client-urls"], "https://test-etcd-2.etcd.example.internal:2379");
            assert.equal(flags["listen-peer-urls"], "https://10.0.3.10:2380");
            assert.equal(flags["client-cert-auth"], "true");
            assert.equal(flags["peer-client-cert-auth"], "true");
            assert.equal(flags["initial-cluster"], undefined);
        });

        it("discovery v3 (3.6, 3.7): token and endpoints, size registered under /_etcd/registry/<token>", async () => {
            for (const etcdVersion of ["3.6.14", "3.7.1"]) {
                const run = await runCluster({
                    bootstrapMode: "discovery",
                    etcdVersion,
                    discovery: { endpoints: ["http://10.9.0.5:2379"] },
                });
                const flags = flagMap(launchFlags(run, "test-etcd-0"));
                const token = run.outputs["test-etcd.discoveryToken"] as string;
                assert.match(token, /^[0-9a-z]{32}$/);
                assert.equal(flags["discovery-token"], token);
                assert.equal(flags["discovery-endpoints"], "http://10.9.0.5:2379");
                assert.equal(flags.discovery, undefined);
                const size = named(run, "test-etcd-discovery-size");
                assert.match(size.inputs.stdin, new RegExp(`SIZE_KEY='/_etcd/registry/${token}/_config/size'`));
                assert.match(size.inputs.stdin, /SIZE='3'/);
            }
        });

        it("discovery v2 (3.4, 3.5): --discovery <service>/<token> with fallback exit, size PUT under the URL", async () => {
            for (const etcdVersion of ["3.4.23", "3.5.16"]) {
                const run = await runCluster({
                    bootstrapMode: "discovery",
                    etcdVersion,
                    discovery: { serviceUrl: "http://10.9.0.5:2379/v2/keys/_etcd/registry" },
                });
                const token = run.outputs["test-etcd.discoveryToken"] as string;
                const flags = flagMap(launchFlags(run, "test-etcd-1"));
                assert.equal(flags.discovery, `http://10.9.0.5:2379/v2/keys/_etcd/registry/${token}`);
                assert.equal(flags["discovery-fallback"], "exit");
                assert.match(
                    named(run, "test-etcd-discovery-size").inputs.stdin,
                    new RegExp(`SIZE_URL='http://10.9.0.5:2379/v2/keys/_etcd/registry/${token}/_config/size'`),
                );
            }
        });

        it("discovery with a ready public-style URL: no token made, no size registered, the URL used as given", async () => {
            const url = "https://discovery.example.com/6c007a14875d53d9bf0ef5a6fc0257c8";
            const run = await runCluster({
                bootstrapMode: "discovery",
                etcdVersion: "3.5.16",
                discovery: { url, size: 3 },
            });
            assert.equal(flagMap(launchFlags(run, "test-etcd-0")).discovery, url);
            assert.equal(ofType(run, "random:index/randomPassword:RandomPassword").length, 0);
            assert.equal(
                run.resources.some((r) => r.name === "test-etcd-discovery-size"),
                false,
            );
        });

        it("sets --logger zap only on 3.4, whose default logger differs", async () => {
            for (const [etcdVersion, logger] of [
                ["3.4.23", "zap"],
                ["3.5.16", undefined],
                ["3.6.14", undefined],
                ["3.7.1", undefined],
            ]) {
                const run = await runCluster({ etcdVersion, tls: etcdVersion !== "3.4.23" });
                assert.equal(flagMap(launchFlags(run, "test-etcd-0")).logger, logger, etcdVersion);
            }
        });

        it("passes extra flags through to every member", async () => {
            const run = await runCluster({
                extraFlags: { "snapshot-count": "10000", "quota-backend-bytes": "8589934592" },
            });
            for (const i of [0, 1, 2]) {
                const flags = flagMap(launchFlags(run, `test-etcd-${i}`));
                assert.equal(flags["snapshot-count"], "10000");
                assert.equal(flags["quota-backend-bytes"], "8589934592");
            }
        });
    });

    describe("ordering", () => {
        it("starts a member only after its install, the DNS records (dns mode) and the size registration (discovery)", async () => {
            const dns = await runCluster({ bootstrapMode: "dns" });
            const launch = named(dns, "test-etcd-1-launch");
            for (const dependency of [
                "test-etcd-1-install",
                "test-etcd-dns-srv-server",
                "test-etcd-dns-test-etcd-0-a",
                "test-etcd-dns-test-etcd-2-a",
            ]) {
                assert.ok(launch.dependencies.has(dependency), dependency);
            }
            const discovery = await runCluster({
                bootstrapMode: "discovery",
                discovery: { endpoints: ["http://10.9.0.5:2379"] },
            });
            assert.ok(named(discovery, "test-etcd-2-launch").dependencies.has("test-etcd-discovery-size"));
            assert.ok(named(discovery, "test-etcd-discovery-size").dependencies.has("test-etcd-0-install"));
        });

        it("does not hold static members back for DNS records, only for their peers' addresses", async () => {
            const run = await runCluster({ bootstrapMode: "static" });
            const launch = named(run, "test-etcd-0-launch");
            assert.equal(
                [...launch.dependencies].some((d) => d.startsWith("test-etcd-dns-")),
                false,
            );
            for (const peer of ["test-etcd-0-nic", "test-etcd-1-nic", "test-etcd-2-nic"]) {
                assert.ok(launch.dependencies.has(peer), peer);
            }
        });

        it("launches members in parallel (rolling is enforced on the hosts) and deletes a member's launch before its instance", async () => {
            const run = await runCluster({ memberCount: 5 });
            for (let i = 0; i < 5; i++) {
                const launch = named(run, `test-etcd-${i}-launch`);
                assert.equal(
                    [...launch.dependencies].some((d) => d.endsWith("-launch")),
                    false,
                    `member ${i}`,
                );
                // Pulumi deletes dependents first: the member leaves the cluster before its host goes.
                assert.ok(launch.dependencies.has(`test-etcd-${i}`));
            }
        });

        it("may bootstrap only on creation, never on update, and leaves the cluster before the member is deleted", async () => {
            const run = await runCluster({});
            const launch = named(run, "test-etcd-1-launch");
            assert.equal(launch.inputs.create, "sudo bash -s -- --bootstrap");
            assert.equal(launch.inputs.update, "sudo bash -s");
            assert.equal(
                launch.inputs.delete,
                "if [ -x /usr/local/sbin/etcd-aws-leave ]; then sudo /usr/local/sbin/etcd-aws-leave; fi",
            );
            assert.equal(launch.customTimeouts?.delete, "10m");
        });

        it("runs the health gate last, after every member's launch, on the first member", async () => {
            const run = await runCluster({ memberCount: 5 });
            const gate = named(run, "test-etcd-health");
            for (let i = 0; i < 5; i++) {
                assert.ok(gate.dependencies.has(`test-etcd-${i}-launch`));
            }
            assert.equal(gate.inputs.connection.host, "198.51.100.1");
            assert.match(gate.inputs.stdin, /^PEER_URLS='[^',]+(,[^',]+){4}'$/m);
            assert.match(gate.inputs.stdin, /endpoint health --cluster/);
            assert.equal(ofType(run, COMMAND).filter((c) => c.dependencies.has("test-etcd-health")).length, 0);
        });
    });

    describe("services beside etcd", () => {
        it("every member's launch writes the defrag timer, its service and scripts and the recovery from quorum loss without a restart, and enables the timer", async () => {
            const run = await runCluster({});
            for (let i = 0; i < 3; i++) {
                const stdin = named(run, `test-etcd-${i}-launch`).inputs.stdin as string;
                for (const file of [
                    "/usr/local/sbin/etcd-aws-defrag 0755",
                    "/usr/local/sbin/etcd-aws-recover-space 0755",
                    "/usr/local/sbin/etcd-aws-force-new-cluster 0755",
                    "/etc/systemd/system/etcd-aws-defrag.service 0644",
                    "/etc/systemd/system/etcd-aws-defrag.timer 0644",
                ]) {
                    assert.match(stdin, new RegExp(`^ {4}if write_host_file ${file} root:root <<'`, "m"), file);
                }
                assert.match(stdin, /^ {4}systemctl enable --now --quiet etcd-aws-defrag\.timer$/m);
            }
        });
    });

    describe("backups", () => {
        it("none without backupBucket: no bucket, no instance profile, no backup timer, the pre-change snapshot kept local", async () => {
            const run = await runCluster({});
            assert.equal(
                ofType(run, "aws:s3/bucketV2:BucketV2").length + ofType(run, "aws:s3/bucket:Bucket").length,
                0,
            );
            assert.equal(at(ofType(run, INSTANCE), 0, "instance").inputs.iamInstanceProfile, undefined);
            assert.doesNotMatch(named(run, "test-etcd-0-launch").inputs.stdin, /etcd-aws-backup\.timer/);
            assert.match(named(run, "test-etcd-prepare-change").inputs.stdin, /^BACKUP_COMMAND=''$/m);
        });

        it("with backupBucket: every member's instance gets the backups' profile, its launch the backup timer, and the pre-change step uploads through the backup script", async () => {
            const run = await withRegion(() =>
                runCluster({ backupBucket: "orders-etcd-backups", backupIntervalMinutes: 30 }),
            );
            const profile = ofType(run, "aws:iam/instanceProfile:InstanceProfile");
            assert.equal(profile.length, 1);
            const profileName = at(profile, 0, "profile").state.name as string;
            assert.equal(profileName, "test-etcd-backup-profile-name");
            for (const instance of ofType(run, INSTANCE)) {
                assert.equal(instance.inputs.iamInstanceProfile, profileName, instance.name);
            }
            for (let i = 0; i < 3; i++) {
                const stdin = named(run, `test-etcd-${i}-launch`).inputs.stdin as string;
                assert.match(stdin, /^ {4}if write_host_file \/usr\/local\/sbin\/etcd-aws-backup 0755 root:root <<'/m);
                assert.match(stdin, /^ {4}systemctl enable --now --quiet etcd-aws-backup\.timer$/m);
            }
            assert.match(
                named(run, "test-etcd-prepare-change").inputs.stdin,
                /^BACKUP_COMMAND='\/usr\/local\/sbin\/etcd-aws-backup'$/m,
            );
        });

        it("refuses a bucket name S3 refuses and an unknown Object Lock mode, naming each; without a bucket the other settings do nothing", async () => {
            const without = await runCluster({ backupPrefix: "prod", backupObjectLock: "governance" });
            assert.equal(ofType(without, "aws:iam/instanceProfile:InstanceProfile").length, 0);
            const named2 = await constructionError({ backupBucket: "Orders_Backups", backupObjectLock: "forever" });
            assert.deepEqual(
                named2.error.problems.map((p) => [p.setting, p.value]),
                [
                    ["backupBucket", "Orders_Backups"],
                    ["backupObjectLock", "forever"],
                ],
            );
        });
    });

    describe("restore from a backup", () => {
        const URI = "s3://orders-etcd-backups/etcd-backups/test-etcd/20261202T101500Z-rev4711.db";

        it("none without restoreFromSnapshot", async () => {
            const run = await withRegion(() => runCluster({ backupBucket: "orders-etcd-backups" }));
            assert.equal(run.resources.filter((r) => r.name.endsWith("-restore")).length, 0);
        });

        it("with it and its intent: every member restores the URI after every launch and ready check, with one new token, before the health gate", async () => {
            const run = await withRegion(() =>
                runCluster({
                    backupBucket: "orders-etcd-backups",
                    restoreFromSnapshot: URI,
                    restoreDiscardsCurrentData: "test-etcd",
                }),
            );
            const tokens = new Set<string>();
            for (let i = 0; i < 3; i++) {
                const restore = named(run, `test-etcd-${i}-restore`);
                assert.equal(restore.inputs.create, `sudo bash -s -- '${URI}' --discard-current-data`);
                const stdin = restore.inputs.stdin as string;
                assert.match(stdin, new RegExp(`^MEMBER_NAME='test-etcd-${i}'$`, "m"));
                tokens.add(/^CLUSTER_TOKEN='(.*)'$/m.exec(stdin)?.[1] ?? "");
                for (let j = 0; j < 3; j++) {
                    assert.ok(restore.dependencies.has(`test-etcd-${j}-launch`));
                    assert.ok(restore.dependencies.has(`test-etcd-${j}-ready`));
                }
                assert.ok(named(run, "test-etcd-health").dependencies.has(`test-etcd-${i}-restore`));
            }
            assert.equal(tokens.size, 1);
            assert.match([...tokens][0] ?? "", /-restore-[0-9a-f]{12}$/);
        });

        it("refuses it without the intent, naming both keys and the fix, and a URI outside the cluster's prefix", async () => {
            const refused = await constructionError({
                backupBucket: "orders-etcd-backups",
                restoreFromSnapshot: URI,
                restoreDiscardsCurrentData: "yes",
            });
            const problem = refused.error.problems.find((p) => p.setting === "restoreDiscardsCurrentData");
            assert.equal(problem?.value, "yes");
            assert.match(problem?.problem ?? "", /restoreFromSnapshot/);
            assert.match(problem?.fix ?? "", /restoreDiscardsCurrentData to "test-etcd"/);
            const elsewhere = await constructionError({
                backupBucket: "orders-etcd-backups",
                restoreFromSnapshot: "s3://orders-etcd-backups/etcd-backups/other/x.db",
                restoreDiscardsCurrentData: "test-etcd",
            });
            assert.deepEqual(
                elsewhere.error.problems.map((p) => p.setting),
                ["restoreFromSnapshot"],
            );
        });
    });

    describe("before a risky change", () => {
        const PREPARE = "test-etcd-prepare-change";
        /** The pre-change step's script for the settings, and the line saying what it runs before. */
        async function prepareScript(args: Partial<EtcdClusterArgs>): Promise<{ stdin: string; change: string }> {
            const stdin = named(await runCluster(args), PREPARE).inputs.stdin as string;
            return { stdin, change: /^CHANGE='(.*)'$/m.exec(stdin)?.[1] ?? "" };
        }

        it("one pre-change step on the first member's interface: nothing on creation, the script on every update", async () => {
            const run = await runCluster({});
            const prepare = named(run, PREPARE);
            assert.equal(ofType(run, COMMAND).filter((c) => c.name.endsWith("-prepare-change")).length, 1);
            assert.equal(prepare.inputs.create, undefined, "a new cluster has nothing to save");
            assert.equal(prepare.inputs.update, "sudo bash -s");
            assert.equal(prepare.inputs.triggers, undefined, "a replacement would run create");
            assert.equal(prepare.inputs.connection.host, named(run, "test-etcd-0-eip").state.publicIp);
            assert.equal(prepare.inputs.connection.hostKey, "ssh-ed25519 HOSTKEY-test-etcd-0-host-key");
            assert.match(prepare.inputs.stdin, /^TARGET_VERSION='3\.6\.14'$/m);
            assert.match(prepare.inputs.stdin, /^SNAPSHOT_DIR='\/var\/lib\/etcd\/pre-change-snapshots'$/m);
            assert.match(prepare.inputs.stdin, /^# ---- host\/etcd-aws-prepare-change\.sh$/m);
            assert.equal(prepare.customTimeouts?.update, "20m");
        });

        it("every member's instance, data volume and launch waits for it; it waits for no instance, install or launch", async () => {
            const run = await runCluster({ memberCount: 5 });
            const instances = ofType(run, INSTANCE);
            assert.equal(instances.length, 5);
            for (const instance of instances) {
                assert.ok(instance.dependencies.has(PREPARE), `${instance.name} depends on ${PREPARE}`);
            }
            for (let i = 0; i < 5; i++) {
                for (const dependent of [`test-etcd-${i}-data`, `test-etcd-${i}-launch`]) {
                    assert.ok(named(run, dependent).dependencies.has(PREPARE), `${dependent} depends on ${PREPARE}`);
                }
            }
            const dependencies = [...named(run, PREPARE).dependencies];
            assert.deepEqual(
                dependencies.filter((d) => /^test-etcd-\d$/.test(d) || /-(install|launch|wait|ready|attach)$/.test(d)),
                [],
            );
            assert.ok(dependencies.includes("test-etcd-0-nic") && dependencies.includes("test-etcd-0-eip"));
        });

        it("its script changes with each change that restarts or removes a member, and on no other", async () => {
            const base = await prepareScript({});
            assert.equal((await prepareScript({})).stdin, base.stdin, "the same settings: the same script");
            assert.equal(
                (await prepareScript({ clientCidrs: ["10.9.0.0/16"], monitoringCidrs: ["10.8.0.0/16"] })).stdin,
                base.stdin,
                "firewall rules restart nothing",
            );
            const risky: [string, Partial<EtcdClusterArgs>, RegExp][] = [
                ["members", { memberCount: 5 }, /members test-etcd-0,test-etcd-1,test-etcd-2,test-etcd-3,test-etcd-4;/],
                ["release", { etcdVersion: "3.6.16" }, /etcd 3\.6\.16;/],
                ["instance type", { instanceType: "m6i.large" }, /instance type m6i\.large;/],
                ["AMI", { amiId: "ami-0123456789abcdef0" }, /AMI ami-0123456789abcdef0;/],
                ["volume size", { volumeSizeGiB: 40 }, /data volume 40 GiB gp3;/],
                ["volume type", { volumeType: "io2", volumeIops: 4000 }, /data volume 20 GiB io2 4000 IOPS;/],
                ["extra flag", { extraFlags: { "snapshot-count": "20000" } }, /configuration /],
                ["compaction", { autoCompactionRetention: "2h" }, /configuration /],
            ];
            for (const [what, args, shown] of risky) {
                const changed = await prepareScript(args);
                assert.notEqual(changed.change, base.change, what);
                assert.match(changed.change, shown, what);
            }
        });

        it("each install gets the diskCheck setting and its member's membership settings (an offline grow under the lock)", async () => {
            const run = await runCluster({ diskCheck: "fail" });
            for (let i = 0; i < 3; i++) {
                const stdin = named(run, `test-etcd-${i}-install`).inputs.stdin as string;
                assert.match(stdin, /^DISK_CHECK='fail'$/m);
                assert.match(stdin, new RegExp(`^MEMBER_NAME='test-etcd-${i}'$`, "m"));
                assert.match(stdin, /^LOCK_KEY='etcd-aws\/membership'$/m);
            }
            const defaults = await runCluster({});
            assert.match(named(defaults, "test-etcd-0-install").inputs.stdin, /^DISK_CHECK='warn'$/m);
        });

        it('diskChecks: each member\'s install line, "not measured" where the install printed none', async () => {
            const run = await runCluster({});
            assert.deepEqual(run.outputs["test-etcd.diskChecks"], {
                "test-etcd-0": "not measured",
                "test-etcd-1": "not measured",
                "test-etcd-2": "not measured",
            });
        });
    });

    describe("secrets", () => {
        it("keeps launch scripts, connections, the discovery token and the client key secret", async () => {
            const run = await runCluster({
                bootstrapMode: "discovery",
                discovery: { endpoints: ["http://10.9.0.5:2379"] },
            });
            for (const command of ofType(run, COMMAND)) {
                assert.ok(command.secretInputs.has("connection"), `${command.name} connection`);
            }
            assert.ok(named(run, "test-etcd-0-launch").secretInputs.has("stdin"));
            const size = named(run, "test-etcd-discovery-size");
            assert.ok(size.secretInputs.has("stdin"));
            assert.equal(size.inputs.logging, "none");
            assert.ok(run.secretOutputs.has("test-etcd.discoveryToken"));
            assert.ok(run.secretOutputs.has("test-etcd.clientKeyPem"));
            assert.equal(run.secretOutputs.has("test-etcd.clientEndpoints"), false, "endpoints are not secret");
        });

        it("writes TLS keys 0600 owned by etcd and never puts them in the instance's userData (only its SSH host key, secret)", async () => {
            const run = await runCluster({ tls: true });
            const script: string = named(run, "test-etcd-0-launch").inputs.stdin;
            assert.match(script, /write_host_file \/etc\/etcd\/pki\/server\.key 0600 etcd:etcd/);
            assert.match(script, /write_host_file \/etc\/etcd\/pki\/peer\.key 0600 etcd:etcd/);
            assert.match(script, /write_host_file \/etc\/etcd\/pki\/client\.key 0600 etcd:etcd/);
            for (const instance of ofType(run, INSTANCE)) {
                assert.ok(instance.secretInputs.has("userData"), `${instance.name} userData secret`);
                assert.doesNotMatch(instance.inputs.userData, /BEGIN CERTIFICATE|BEGIN PRIVATE KEY/);
                assert.match(instance.inputs.userData, /^#cloud-config\n/);
            }
        });
    });

    describe("validation", () => {
        it("refuses bad arguments before registering anything, naming every problem", async () => {
            const { error, run } = await constructionError({
                memberCount: 4,
                etcdVersion: "3.8.0",
                clientCidrs: ["10.0.0.1/16"],
                discovery: { endpoints: ["http://x:2379"] },
                extraFlags: { "initial-cluster": "a=http://1.2.3.4:2380" },
                subnetIds: [],
            });
            // The component module was loaded afresh under mocks, so compare by name, not class.
            assert.equal(error.name, EtcdClusterConfigError.name);
            const settings: string[] = error.problems.map((p: { setting: string }) => p.setting);
            assert.ok(pulumi.RunError.isInstance(error), "a RunError: Pulumi prints it without a stack trace");
            for (const setting of [
                "memberCount",
                "etcdVersion",
                "clientCidrs[0]",
                "discovery",
                "extraFlags.initial-cluster",
                "subnetIds",
                "vpcId",
            ]) {
                assert.ok(settings.includes(setting), `${setting} in ${settings.join(", ")}`);
            }
            assert.match(
                error.message,
                /^etcd cluster "test-etcd": \d+ problems in the configuration, no resource of this cluster was created:/,
            );
            assert.match(
                error.message,
                /memberCount = 4: an even member count tolerates no more failures than the odd count below it\. Fix: use one of 1, 3, 5, 7/,
            );
            assert.deepEqual(run?.resources, []);
        });

        it("refuses a second cluster in the same program that reuses the first one's token", async () => {
            await assert.rejects(
                runClusters([
                    { name: "blue", args: { clusterToken: "shared-token" } },
                    { name: "green", args: { clusterToken: "shared-token" } },
                ]),
                (error: Error) =>
                    /clusterToken = "shared-token": already used by cluster "blue" in this program/.test(error.message),
            );
        });

        it("refuses a token reserved by another stack", async () => {
            const { error } = await constructionError({
                clusterToken: "prod-token",
                reservedClusterTokens: ["prod-token"],
            });
            assert.match(error.message, /already used by another cluster \(reservedClusterTokens\)/);
        });

        it("refuses a missing SSH key and an out-of-range health timeout", async () => {
            const { error } = await constructionError({ ssh: {} as SshSettings, healthTimeoutSeconds: 5 });
            assert.deepEqual(
                error.problems.map((p: { setting: string }) => p.setting),
                ["ssh.privateKey", "healthTimeoutSeconds"],
            );
        });
    });

    it("gives two clusters in one program distinct resource names, tokens and DNS records", async () => {
        const run = await runClusters([
            { name: "blue", args: {} },
            { name: "green", args: {} },
        ]);
        const names = run.resources.map((r) => `${r.type}::${r.name}`);
        assert.equal(new Set(names).size, names.length);
        const records = ofType(run, "aws:route53/record:Record").map((r) => r.inputs.name);
        assert.equal(new Set(records).size, records.length);
        assert.notEqual(
            flagMap(launchFlags(run, "blue-0"))["initial-cluster-token"],
            flagMap(launchFlags(run, "green-0"))["initial-cluster-token"],
        );
    });
});
