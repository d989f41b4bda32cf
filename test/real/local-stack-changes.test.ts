// Issue 12's changes on the local stack: each one a real `pulumi up --set ...` of the program (scripts/local-cluster.sh
// up) against the local cloud, in the engine's own order, on a 3-member stack with a writer running through all the
// endpoints (retries allowed) before, during and after it. For each: every acknowledged key is read back with its
// value from every member, no write fails after its retries, the longest stall stays within one member's restart, at
// most one of the members that stay was down at any sample taken while `up` ran, and afterwards every member of the
// spec is a started, healthy voting member. Destroy then leaves nothing running (no process, firewall table or loop
// device of the local cloud).
// Every change runs on both lines the program deploys and upgrades from (3.5 and the newest 3.6). The stack starts
// with 10 GiB volumes (the dev stack's), so the volume resize to 14 GiB also raises the backend quota that follows
// the volume. This machine has no CAP_SYS_RESOURCE, so the install grows each mounted filesystem offline (etcd
// stopped under the membership lock, one member at a time); a host that has it grows it online (no restart for it).
// Run it alone:
//   flock /tmp/etcd-aws-real.lock npx mocha --timeout 600000 test/real/local-stack-changes.test.ts
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { HOST_PATHS } from "../../core";
import { defaultQuotaBytes } from "../../core/maintenance";
import { LOCAL_DIR } from "../../local/paths";
import { recordedUnder, run } from "../../local/process";
import { EtcdClient } from "../../local/writer";
import { firewallTable } from "../../localcloud/aws/network";
import { publishImage } from "../../localcloud/aws/images";
import { stackPaths } from "../../localcloud/stack";
import { describeOutcome, recordChange } from "./change-report";
import { DownSampler } from "./down-sampler";
import {
    enterLocalCloud,
    leaveLocalCloud,
    localCluster,
    memberHosts,
    memberLogFiles,
    printedEndpoints,
    upWith,
} from "./local-stack-run";
import { assertOneAtATime, restartWindowsIn } from "./restarts";
import { LOCAL_STACK_VERSIONS } from "./support";
import { localClient, readBackThrough, writeThrough } from "./writes";

/** One `up` of the stack: a rolling change of 3 or 5 members (each stopped, back and caught up in turn). */
const UP_TIMEOUT_MS = 480_000;
/** The writer's own limit: longer than an `up`. */
const WRITER_LIMIT_MS = UP_TIMEOUT_MS + 60_000;
/**
 * The longest a write may wait for an acknowledgement: one member's restart costs at most an election (the leader
 * stopped) and the retries of the writes in flight; two members down at once would stall writes until one is back.
 */
const STALL_BUDGET_MS = 10_000;

/** The volumes of the first up (the dev stack's size) and after the resize: the quota follows both (below 8 GiB). */
const FIRST_VOLUME_GIB = 10;
const GROWN_VOLUME_GIB = 14;

type ChangeKind = "scale-out" | "scale-in" | "ami" | "volume" | "instance-type" | "flag" | "certificates";

interface StackChange {
    readonly kind: ChangeKind;
    readonly name: string;
    /** The --set arguments (computed when the change runs: a new AMI is published then). */
    readonly settings: () => string[];
    readonly membersAfter: number;
    /** Steps the engine must show (as `pulumi up --diff` prints them) and how often, or never (0). */
    readonly steps: Readonly<Record<string, number>>;
}

const INSTANCE = "aws:ec2/instance:Instance";

const CHANGES: readonly StackChange[] = [
    {
        kind: "scale-out",
        name: "scale 3 -> 5",
        settings: () => ["etcd-aws:memberCount=5"],
        membersAfter: 5,
        steps: { [`+ ${INSTANCE}: (create)`]: 2, [`+-${INSTANCE}: (replace)`]: 0 },
    },
    {
        kind: "scale-in",
        name: "scale 5 -> 3",
        settings: () => ["etcd-aws:memberCount=3"],
        membersAfter: 3,
        steps: {
            [`- ${INSTANCE}: (delete)`]: 2,
            "- aws:ebs/volume:Volume: (delete)": 2,
            [`+-${INSTANCE}: (replace)`]: 0,
        },
    },
    {
        kind: "ami",
        name: "new AMI (amiId of a published image)",
        // Published first: the looked-up image is pinned, so only the explicit amiId rolls the members.
        settings: () => [`etcd-aws:amiId=${publishImage().imageId}`],
        membersAfter: 3,
        steps: { [`+-${INSTANCE}: (replace)`]: 3, "+-aws:ebs/volume:Volume: (replace)": 0 },
    },
    {
        kind: "volume",
        name: `data volume ${FIRST_VOLUME_GIB} -> ${GROWN_VOLUME_GIB} GiB (filesystem and quota follow)`,
        settings: () => [`etcd-aws:volumeSizeGiB=${GROWN_VOLUME_GIB}`],
        membersAfter: 3,
        steps: { "~ aws:ebs/volume:Volume: (update)": 3, [`+-${INSTANCE}: (replace)`]: 0 },
    },
    {
        kind: "instance-type",
        name: "instance type t3.medium -> t3.large",
        settings: () => ["etcd-aws:instanceType=t3.large"],
        membersAfter: 3,
        steps: { [`~ ${INSTANCE}: (update)`]: 3, [`+-${INSTANCE}: (replace)`]: 0 },
    },
    {
        kind: "flag",
        name: "restart-requiring flag (snapshot-count)",
        settings: () => ["etcd-aws:extraFlags=snapshot-count=20000"],
        membersAfter: 3,
        // The 3 launches, and the pre-change step (its script carries a digest of every member's configuration).
        steps: { "~ command:remote:Command: (update)": 4, [`~ ${INSTANCE}: (update)`]: 0 },
    },
    {
        kind: "certificates",
        name: "TLS certificates reissued (validity 365 -> 300 days)",
        settings: () => ["etcd-aws:certificateValidityDays=300"],
        membersAfter: 3,
        // Each member's server, peer and admin certificate and the application's; the CA stays.
        steps: {
            "+-tls:index/locallySignedCert:LocallySignedCert: (replace)": 10,
            "+-tls:index/selfSignedCert:SelfSignedCert: (replace)": 0,
        },
    },
];

/** How often `up --diff` printed the step line (e.g. "+-aws:ec2/instance:Instance: (replace)"). */
function stepCount(output: string, step: string): number {
    return output.split("\n").filter((line) => line.trim() === step).length;
}

/**
 * Each local host's data volume as its etcd sees it: the size of the filesystem mounted on the data mount (df, i.e.
 * statfs, in etcd's own mount namespace) and the backend quota of its environment file, by member name.
 */
function dataMounts(dir: string): Map<string, { sizeBytes: number; quotaBytes: number }> {
    const mounts = new Map<string, { sizeBytes: number; quotaBytes: number }>();
    for (const { member, host } of memberHosts(dir)) {
        const pidFile = path.join(host.root, HOST_PATHS.pidFile);
        if (!fs.existsSync(pidFile)) continue;
        const text = fs.readFileSync(path.join(host.root, HOST_PATHS.envFile), "utf8");
        const pid = fs.readFileSync(pidFile, "utf8").trim();
        const df = execFileSync(
            "nsenter",
            [`--mount=/proc/${pid}/ns/mnt`, "df", "-B1", "--output=size", HOST_PATHS.dataMount],
            { encoding: "utf8", timeout: 10_000 },
        );
        mounts.set(member, {
            sizeBytes: Number(df.trim().split("\n").at(-1)),
            quotaBytes: Number(/^ETCD_QUOTA_BACKEND_BYTES='?(\d+)'?$/m.exec(text)?.[1]),
        });
    }
    return mounts;
}

/** Each command's output, kept after the run (the state directory is removed). */
const LOG_DIR = path.join(LOCAL_DIR, "local-stack-changes");

/** The stack's name per release, e.g. local-changes-v3-6-16. */
function stackName(version: string): string {
    return `local-changes-v${version.replace(/\./g, "-")}`;
}

/**
 * After the resize: every member's mounted filesystem grew by (nearly) the 4 GiB added, its quota is the new volume's
 * default, and each member restarted once or twice (the offline grow where the kernel refuses it online, and the
 * launch's restart for the new quota), never two at once (asserted by the caller).
 */
function assertVolumeGrown(
    before: Map<string, { sizeBytes: number; quotaBytes: number }>,
    after: Map<string, { sizeBytes: number; quotaBytes: number }>,
    restarts: number,
): void {
    const GiB = 1024 ** 3;
    assert.equal(after.size, 3, "every member's data mount measured");
    for (const [member, grown] of after) {
        const old = before.get(member);
        assert.ok(old, `${member} was measured before`);
        console.log(
            `      ${member}: filesystem ${(old.sizeBytes / GiB).toFixed(2)} -> ${(grown.sizeBytes / GiB).toFixed(2)} GiB, quota ${(old.quotaBytes / GiB).toFixed(2)} -> ${(grown.quotaBytes / GiB).toFixed(2)} GiB`,
        );
        assert.equal(old.quotaBytes, defaultQuotaBytes(FIRST_VOLUME_GIB));
        assert.ok(old.sizeBytes <= FIRST_VOLUME_GIB * GiB, `${member}: ${old.sizeBytes} bytes before`);
        assert.ok(
            grown.sizeBytes - old.sizeBytes >= 0.95 * (GROWN_VOLUME_GIB - FIRST_VOLUME_GIB) * GiB,
            `${member}: ${old.sizeBytes} -> ${grown.sizeBytes} bytes`,
        );
        assert.equal(grown.quotaBytes, defaultQuotaBytes(GROWN_VOLUME_GIB), `${member}: the quota follows the volume`);
    }
    assert.ok(restarts >= 3 && restarts <= 6, `${restarts} restarts`);
}

/** The end of each instance's SSH daemon log under the state directory (a failed `up` names them; the directory goes). */
function daemonLogs(dir: string): string {
    const hosts = path.join(dir, "hosts");
    return (fs.existsSync(hosts) ? fs.readdirSync(hosts) : [])
        .map((host) => path.join(hosts, host, "sshd.log"))
        .filter((log) => fs.existsSync(log))
        .map((log) => `\n== ${log}\n${fs.readFileSync(log, "utf8").slice(-4000)}`)
        .join("");
}

/** The loop devices backed by a file under `dir`. */
function loopDevicesUnder(dir: string): string[] {
    const listed = JSON.parse(
        execFileSync("losetup", ["--list", "--json"], { timeout: 10_000 }).toString() || "{}",
    ) as {
        loopdevices?: { name: string; "back-file": string | null }[];
    };
    return (listed.loopdevices ?? []).filter((d) => d["back-file"]?.startsWith(dir)).map((d) => d.name);
}

for (const version of LOCAL_STACK_VERSIONS) {
    const changes = CHANGES;

    describe(`etcd ${version} on the local stack: ${changes.map((c) => c.kind).join(", ")} and destroy, each a real pulumi up with a writer running`, function () {
        this.timeout(UP_TIMEOUT_MS + 120_000);
        const stack = stackName(version);
        let dir = "";
        let env: NodeJS.ProcessEnv = {};
        let endpoints: string[] = [];
        let client: EtcdClient = localClient(version);
        const logs: string[] = [];

        function keep(args: string[], output: string): void {
            logs.push(output);
            fs.mkdirSync(LOG_DIR, { recursive: true });
            fs.writeFileSync(path.join(LOG_DIR, `${stack}-${logs.length}.log`), `${args.join(" ")}\n${output}`);
        }

        /** Runs one local-cluster.sh command; its output is kept for a failure's diagnosis. */
        async function stackCommand(args: string[]): Promise<{ output: string; seconds: number }> {
            try {
                const [command = "", ...rest] = args;
                const result = await localCluster([command, "--stack", stack, ...rest], env, UP_TIMEOUT_MS);
                keep(args, result.output);
                return result;
            } catch (error) {
                keep(args, `${(error as Error).message}${daemonLogs(dir)}`);
                throw error;
            }
        }

        /** Every member of the spec listed, started and a voter, and healthy through its own endpoint. */
        async function healthyMembers(expected: number): Promise<number> {
            const etcdctl = (...args: string[]) =>
                run([client.etcdctl, `--endpoints=${endpoints.join(",")}`, ...client.flags, ...args], {
                    timeoutMs: 30_000,
                    env: { ETCDCTL_API: "3" },
                });
            const listed = JSON.parse((await etcdctl("member", "list", "--write-out=json")).stdout) as {
                members: { name?: string; clientURLs?: string[]; isLearner?: boolean }[];
            };
            const names = Array.from({ length: expected }, (_, i) => `${stack}-${i}`);
            assert.deepEqual(listed.members.map((m) => m.name).sort(), names.sort(), "the spec's members, no other");
            assert.ok(
                listed.members.every((m) => (m.clientURLs ?? []).length > 0 && !m.isLearner),
                `every member started and voting: ${JSON.stringify(listed.members)}`,
            );
            const health = await etcdctl("endpoint", "health", "--write-out=json");
            const healthy = (JSON.parse(health.stdout) as { endpoint: string; health: boolean }[]).filter(
                (h) => h.health,
            );
            assert.equal(healthy.length, expected, `${health.stdout}${health.stderr}`);
            return healthy.length;
        }

        before(async function () {
            ({ dir, env } = enterLocalCloud(this, stack));
            const { output, seconds } = await stackCommand(
                upWith(
                    "etcd-aws:memberCount=3",
                    `etcd-aws:etcdVersion=${version}`,
                    `etcd-aws:volumeSizeGiB=${FIRST_VOLUME_GIB}`,
                ),
            );
            endpoints = printedEndpoints(output) ?? [];
            const { clientDir } = stackPaths(stack);
            client = localClient(version, [
                `--cacert=${path.join(clientDir, "ca.pem")}`,
                `--cert=${path.join(clientDir, "client.pem")}`,
                `--key=${path.join(clientDir, "client-key.pem")}`,
            ]);
            console.log(`      first up (3 members): ${seconds.toFixed(0)} s`);
            assert.equal(await healthyMembers(3), 3);
        });

        afterEach(function () {
            if (this.currentTest?.state === "failed") console.log(logs.at(-1)?.slice(-12_000) ?? "");
        });

        after(async function () {
            this.timeout(UP_TIMEOUT_MS + 60_000);
            await leaveLocalCloud(stack, dir, env, UP_TIMEOUT_MS);
        });

        for (const change of changes) {
            it(`${change.name}: one pulumi up, every key kept, at most one member down at a time, ${change.membersAfter} healthy members after`, async function () {
                const mountsBefore = dataMounts(dir);
                const settings = change.settings();
                const since = Date.now();
                const caBefore = fs.readFileSync(path.join(stackPaths(stack).clientDir, "ca.pem"), "utf8");
                const clientBefore = fs.readFileSync(path.join(stackPaths(stack).clientDir, "client.pem"), "utf8");
                // Sampled: the members there before and after (a new or a leaving member is down by design).
                const staying = endpoints.slice(0, Math.min(endpoints.length, change.membersAfter));
                const sampler = new DownSampler(client, staying);
                const prefix = `local-stack/${change.kind}`;
                let changed;
                try {
                    changed = await writeThrough(
                        client,
                        endpoints,
                        prefix,
                        () => stackCommand(["up", ...settings.flatMap((setting) => ["--set", setting])]),
                        WRITER_LIMIT_MS,
                    );
                } finally {
                    await sampler.stop();
                }
                endpoints = printedEndpoints(changed.result.output) ?? [];
                assert.equal(endpoints.length, change.membersAfter);
                const readBack = await readBackThrough(client, endpoints, prefix, changed.report.written);
                const healthy = await healthyMembers(change.membersAfter);
                const outcome = recordChange(change.name, version, changed.report, readBack, {
                    upSeconds: changed.result.seconds,
                    mostDown: sampler.mostDown,
                    healthyMembers: healthy,
                });
                console.log(
                    `      ${settings.join(" ")}: up ${changed.result.seconds.toFixed(0)} s; ${describeOutcome(outcome)}; at most ${sampler.mostDown} of ${staying.length} members down (${sampler.samples} samples)`,
                );
                for (const [step, count] of Object.entries(change.steps)) {
                    assert.equal(stepCount(changed.result.output, step), count, `${step} x ${count}`);
                }
                // Restarts in place (etcd's own log: told to stop, serving again) never overlap; a replaced
                // instance's log went with its root disk, the samples cover those.
                const windows = restartWindowsIn(memberLogFiles(dir), since);
                assertOneAtATime(windows);
                if (change.kind === "volume") assertVolumeGrown(mountsBefore, dataMounts(dir), windows.length);
                const { clientDir } = stackPaths(stack);
                assert.equal(fs.readFileSync(path.join(clientDir, "ca.pem"), "utf8"), caBefore, "the CA stays");
                if (change.kind === "certificates") {
                    assert.notEqual(fs.readFileSync(path.join(clientDir, "client.pem"), "utf8"), clientBefore);
                    assert.equal(windows.length, 3, "every member restarted for its new certificates");
                }
                if (change.kind === "flag" || change.kind === "instance-type") {
                    assert.equal(windows.length, 3, "every member restarted once");
                }
                assert.deepEqual(changed.report.failed, [], "no write failed after its retries");
                assert.ok(readBack >= changed.report.written.length);
                assert.ok(sampler.samples > 0, "the members were sampled while up ran");
                assert.ok(sampler.mostDown <= 1, `${sampler.mostDown} members were down at one time`);
                assert.ok(
                    changed.report.longestStallMs <= STALL_BUDGET_MS,
                    `writes stalled ${changed.report.longestStallMs} ms (more than one member's restart)`,
                );
            });
        }

        it("destroy: every member leaves (each launch's delete runs its leave hook), nothing of the local cloud left running", async () => {
            const recorded = recordedUnder(dir);
            const { output, seconds } = await stackCommand(["destroy"]);
            const members = endpoints.length;
            for (let i = 0; i < members; i++) {
                assert.match(output, new RegExp(`${stack}-${i}-launch deleted`), `${stack}-${i} left`);
            }
            console.log(`      destroy: ${seconds.toFixed(0)} s, ${members} members left`);
            const noWriter = { written: [], failed: [], retries: 0, longestStallMs: 0 };
            recordChange("destroy (no writer: every member leaves)", version, noWriter, 0, {
                upSeconds: seconds,
                mostDown: members,
                healthyMembers: 0,
            });
            assert.deepEqual(
                recorded.filter((pid) => recordedUnder(dir).includes(pid)),
                [],
            );
            assert.deepEqual(recordedUnder(dir), [], "no process of the stack runs");
            const tables = execFileSync("nft", ["list", "tables"], { timeout: 10_000 }).toString();
            assert.equal(tables.includes(firewallTable()), false, "the firewall table is gone");
            assert.deepEqual(loopDevicesUnder(dir), [], "no loop device of a volume left");
        });
    });
}
