// The graph before issue 12's fix (OLD_GRAPH, the program the preview tests warn about) run for real: the program
// of that commit by the real engine on a local stack against today's local cloud, 3 members on etcd 3.5 with a
// writer, then the day a newer Ubuntu image is published (publishImage) and `pulumi up` runs, twice (CI runs it on
// every push). Measured: the one update replaces every member's instance at once (create-before-delete, no chain),
// the three new empty members' launches run as updates and each refuses to form a second cluster, so the update
// fails; it has already moved the stack's outputs (clientEndpoints) to the new hosts, where nothing answers. The
// next up fails the same way and deletes nothing: in this engine (v3.274) the old instances, pending deletion, are
// deleted only in the delete phase of an update that gets there, so the old members keep serving at their old
// addresses and keep every key, and the stack can never update again (the issue's Why list expected the next up
// to delete them first). The same change on the current graph (an amiId rolled one member at a time, every key kept)
// is local-stack-changes.test.ts's "new AMI" case.
// Not here (CI budget): destroy of this stack, measured once: the last member's leave hook waits out the old
// membership wait (300 s; 461 s before it was stopped), the leave fix of 79b192f.
// Time: about 100 s for this describe, 3 min for the two after it (measured 12:28 UTC: chain 2.3 min, volume 0.5 min). Run it alone:
//   flock /tmp/etcd-aws-real.lock npx mocha --timeout 600000 test/real/old-graph.test.ts
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LOCAL_DIR } from "../../local/paths";
import { run } from "../../local/process";
import { EtcdClient, Writer } from "../../local/writer";
import { inInstanceCgroup } from "../../localcloud/aws/cgroups";
import { instanceHost } from "../../localcloud/aws/compute";
import { publishImage } from "../../localcloud/aws/images";
import { FirewallStatus } from "../../localcloud/aws/network";
import { OLD_GRAPH } from "../localcloud/preview-cases";
import { DownSampler } from "./down-sampler";
import { memberLogFiles, PULUMI } from "./local-stack-run";
import { restartWindowsIn } from "./restarts";
import { ConfigSetting } from "../../localcloud/stack";
import { CliRun, ProgramStack, tearDownLocalCloud } from "./old-graph-run";
import { localClient, readBackThrough, waitForWrites } from "./writes";

const STACK = "local-oldgraph";
const VERSION = "3.5.16";
const INSTANCE = "aws:ec2/instance:Instance";
/** Each command's output, kept after the run (the state directory is removed). */
const LOG_DIR = path.join(LOCAL_DIR, "old-graph");

/** How often `up --diff` printed a step line, e.g. "++aws:ec2/instance:Instance: (create-replacement)". */
const stepCount = (output: string, step: string) => output.split("\n").filter((line) => line.trim() === step).length;

/** How many of `endpoints` answer `endpoint status` (each within a few seconds). */
async function answering(client: EtcdClient, endpoints: readonly string[]): Promise<number> {
    const result = await run(
        [
            client.etcdctl,
            `--endpoints=${endpoints.join(",")}`,
            "--dial-timeout=2s",
            "--command-timeout=3s",
            ...client.flags,
            "endpoint",
            "status",
            "--write-out=json",
        ],
        { timeoutMs: 15_000, env: { ETCDCTL_API: "3" } },
    );
    return (JSON.parse(result.stdout.trim() || "[]") as unknown[]).length;
}

/** When each instance of the local cloud of `dir` booted (its SSH daemon's configuration written), by id. */
function instanceBoots(dir: string): Map<string, number> {
    const hosts = path.join(dir, "hosts");
    const ids = fs.existsSync(hosts) ? fs.readdirSync(hosts) : [];
    return new Map(
        ids
            .filter((id) => fs.existsSync(path.join(hosts, id, "sshd.json")))
            .map((id) => [id, fs.statSync(path.join(hosts, id, "sshd.json")).mtimeMs]),
    );
}

/** The data volumes (image files) the local cloud of `dir` holds now. */
function volumeCount(dir: string): number {
    const records = path.join(dir, "volumes");
    return fs.existsSync(records) ? fs.readdirSync(records).filter((file) => file.endsWith(".json")).length : 0;
}

/** Keeps each command's output under LOG_DIR as `<prefix><step>.log`. */
const keeper = (prefix: string) => (step: string, result: CliRun) => {
    fs.mkdirSync(LOG_DIR, { recursive: true });
    fs.writeFileSync(
        path.join(LOG_DIR, `${prefix}${step}.log`),
        `exit ${result.code}, ${result.seconds} s\n${result.output}`,
    );
};

/** The stack cannot be destroyed (or was not): its local cloud torn down without the engine, LOCALCLOUD_DIR restored. */
async function removeOldGraph(dir: string, saved: string | undefined): Promise<void> {
    if (dir) await tearDownLocalCloud(dir);
    if (saved === undefined) delete process.env.LOCALCLOUD_DIR;
    else process.env.LOCALCLOUD_DIR = saved;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** A fresh old-graph stack of 3 members (and `more` settings) deployed by its first up, and its etcd client. */
async function deployOldGraph(
    name: string,
    more: { key: string; value: unknown }[],
    keep: (step: string, result: CliRun) => void,
): Promise<{ dir: string; stack: ProgramStack; endpoints: string[]; client: EtcdClient }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
    process.env.LOCALCLOUD_DIR = dir;
    const stack = await ProgramStack.create(OLD_GRAPH, name, path.join(dir, "program"), [
        { key: "etcd-aws:memberCount", value: 3 },
        { key: "etcd-aws:etcdVersion", value: VERSION },
        ...more,
    ] as ConfigSetting[]);
    const up = await stack.up();
    keep("1-up", up);
    assert.equal(up.code, 0, up.output.slice(-6000));
    console.log(`      first up of the old graph (3 members): ${up.seconds.toFixed(0)} s`);
    const outputs = (await stack.outputs()) as Record<string, string> & { clientEndpoints: string[] };
    const clientDir = path.join(dir, "client");
    fs.mkdirSync(clientDir, { recursive: true, mode: 0o700 });
    const files = { cacert: outputs.caCertPem, cert: outputs.clientCertPem, key: outputs.clientKeyPem };
    for (const [file, pem] of Object.entries(files)) fs.writeFileSync(path.join(clientDir, `${file}.pem`), pem!);
    const client = localClient(
        VERSION,
        Object.keys(files).map((file) => `--${file}=${path.join(clientDir, `${file}.pem`)}`),
    );
    return { dir, stack, endpoints: outputs.clientEndpoints, client };
}

describe(`the old graph (${OLD_GRAPH}) on the local stack, 3 members on etcd ${VERSION} with a writer: a newer upstream image, then pulumi up twice`, function () {
    this.timeout(600_000);
    const saved = process.env.LOCALCLOUD_DIR;
    let dir = "";
    let stack: ProgramStack;
    let client: EtcdClient;
    let endpoints: string[] = [];
    const keep = keeper("");

    before(async function () {
        if (!fs.existsSync(PULUMI) || process.getuid?.() !== 0) {
            console.log(`    skipped: needs root and ${PULUMI} (scripts/bootstrap.sh)`);
            this.skip();
        }
        ({ dir, stack, endpoints, client } = await deployOldGraph(STACK, [], keep));
    });

    // The stack cannot update any more: the local cloud is torn down without the engine.
    after(() => removeOldGraph(dir, saved));

    it("the program's security group holds on its members: egress to the peers, the mirror's port and the DNS server only", async () => {
        const status = JSON.parse(
            fs.readFileSync(path.join(dir, "firewall", "firewall.json"), "utf8"),
        ) as FirewallStatus;
        assert.equal(status.egressEnforced, true, status.egressReason);
        const [id, other] = [...instanceBoots(dir).keys()];
        const peer = JSON.parse(fs.readFileSync(path.join(dir, "instances", `${other}.json`), "utf8")) as {
            address: string;
        };
        // Inside the member (its cgroup and namespace): open, refused (allowed, nothing listens) or dropped.
        const probe = `probe() {
    if timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then echo open
    elif [ $? -eq 124 ]; then echo dropped; else echo refused; fi
}
probe ${peer.address} 2380; probe 127.0.19.2 8480; probe 127.0.19.2 8481; probe ${peer.address} 22; probe 127.0.19.53 53`;
        const result = await instanceHost(id!).exec(inInstanceCgroup(id!, ["bash", "-c", probe]), {
            timeoutMs: 30_000,
        });
        assert.deepEqual(result.stdout.trim().split("\n"), ["open", "refused", "dropped", "dropped", "open"]);
    });

    it("a newer image replaces every member at once: the new empty members refuse to form a second cluster and the update fails, the outputs already name them; the next up fails the same way and deletes nothing, the old members keep every key", async () => {
        const prefix = "old-graph/ami";
        const bootsBefore = instanceBoots(dir);
        const writer = Writer.start({
            client,
            endpoints,
            prefix,
            intervalMs: 50,
            retryBudgetMs: 5_000,
            maxDurationMs: 400_000,
        });
        const sampled = async (up: () => Promise<CliRun>) => {
            const sampler = new DownSampler(client, endpoints);
            try {
                return { run: await up(), sampler };
            } finally {
                await sampler.stop();
            }
        };
        let first: Awaited<ReturnType<typeof sampled>>;
        let second: Awaited<ReturnType<typeof sampled>>;
        let outputsAfter: string[];
        try {
            await waitForWrites(writer, "before the new image");
            console.log(`      published ${publishImage().imageId}`);
            first = await sampled(() => stack.up());
            keep("2-up-new-image", first.run);
            outputsAfter = ((await stack.outputs()) as { clientEndpoints: string[] }).clientEndpoints;
            second = await sampled(() => stack.up());
            keep("3-up-again", second.run);
            await waitForWrites(writer, "after both updates", Date.now());
        } finally {
            await writer.stop();
        }
        const report = await writer.stop();
        const readBack = await readBackThrough(client, endpoints, prefix, report.written);
        const newBoots = [...instanceBoots(dir)].filter(([id]) => !bootsBefore.has(id)).map(([, at]) => at);
        const bootSpread = (Math.max(...newBoots) - Math.min(...newBoots)) / 1000;
        const outputsAnswering = await answering(client, outputsAfter);
        const refusals = (output: string) => output.split("refusing to form a second cluster").length - 1;
        const replaced = stepCount(first.run.output, `+-${INSTANCE}: (replace)`);
        console.log(
            `      up with the new image: exit ${first.run.code} in ${first.run.seconds.toFixed(0)} s; ${replaced} instances replaced in it, the ${newBoots.length} new ones booted within ${bootSpread.toFixed(1)} s of each other; ${refusals(first.run.output)} launches refused to form a second cluster; the old members: at most ${first.sampler.mostDown} of 3 down (${first.sampler.samples} samples); the stack's clientEndpoints now ${outputsAfter.join(",")}: ${outputsAnswering} of 3 answer`,
        );
        console.log(
            `      next up: exit ${second.run.code} in ${second.run.seconds.toFixed(0)} s; ${stepCount(second.run.output, `--${INSTANCE}: (delete-replaced)`)} instances deleted, ${refusals(second.run.output)} refusals again; old members at most ${second.sampler.mostDown} of 3 down; ${instanceBoots(dir).size} instances and ${volumeCount(dir)} data volumes exist`,
        );
        console.log(
            `      writer through the old members: ${report.written.length} keys acknowledged, ${report.failed.length} writes failed, longest stall ${(report.longestStallMs / 1000).toFixed(1)} s; read back from every old member: ${readBack} of ${report.written.length}`,
        );
        assert.notEqual(first.run.code, 0, "the update with the new image fails");
        assert.equal(replaced, 3, "every member's instance replaced in the one update");
        assert.equal(newBoots.length, 3);
        assert.ok(bootSpread < 30, `the new instances launched together (${bootSpread} s apart)`);
        assert.equal(refusals(first.run.output), 3, "each new member refuses to form a second cluster");
        assert.equal(first.run.output.includes("error: update failed"), true);
        assert.equal(outputsAfter.filter((endpoint) => endpoints.includes(endpoint)).length, 0, "every output moved");
        assert.equal(outputsAnswering, 0, "nothing answers at the endpoints the stack now outputs");
        assert.notEqual(second.run.code, 0, "the next update fails too");
        assert.equal(refusals(second.run.output), 3);
        assert.equal(stepCount(second.run.output, `--${INSTANCE}: (delete-replaced)`), 0, "no old instance deleted");
        assert.deepEqual(
            [instanceBoots(dir).size, volumeCount(dir)],
            [6, 6],
            "old and new instances and volumes all kept",
        );
        assert.deepEqual([first.sampler.mostDown, second.sampler.mostDown], [0, 0], "the old members kept serving");
        assert.deepEqual(report.failed, []);
        assert.equal(readBack, report.written.length, "the old members still hold every acknowledged key");
    });
});

// The old graph's other changes, chained on one stack of its own (each leaves the state the next one needs): an
// instance type change, scale 3 -> 5 (it works: the gate expects 5 and the new members join), then scale 5 -> 3. The
// stack is created with healthTimeoutSeconds=60, a setting the old program itself takes (default 600; it only bounds
// the gate's wait), so the failing scale-in gate costs 60 s of CI, not 600 (no patch of the extracted program).
// Destroy of this stack (5 members after the failed scale-in), measured once and not run here (it never ends, 7 min
// of CI): the engine deleted the health gate and the 5 launches first (no ingress rule deleted before them, so the
// Why list's "SSH rule deleted in the first wave" did not happen with this engine, v3.274), 4 leave hooks ran in
// 1-25 s, the last member's leave hook waited out the old membership wait (the leave fix of 79b192f): killed at 466 s.
describe(`the old graph (${OLD_GRAPH}) on the local stack, 3 members on etcd ${VERSION}: instance type, scale 3 -> 5 -> 3 (healthTimeoutSeconds=60)`, function () {
    this.timeout(600_000);
    const saved = process.env.LOCALCLOUD_DIR;
    const name = `${STACK}-chain`;
    let dir = "";
    let stack: ProgramStack;
    let client: EtcdClient;
    let endpoints: string[] = [];
    const keep = keeper("chain-");
    /** Member names listed by the cluster (through every endpoint given). */
    const memberNames = async (through: readonly string[]): Promise<string[]> => {
        const listed = await run(
            [client.etcdctl, `--endpoints=${through.join(",")}`, ...client.flags, "member", "list", "--write-out=json"],
            { timeoutMs: 30_000, env: { ETCDCTL_API: "3" } },
        );
        return (JSON.parse(listed.stdout) as { members: { name?: string }[] }).members.map((m) => m.name ?? "").sort();
    };
    /** One `up` with `key=value` set, a writer and a down sampler running through `through`. */
    const changed = async (step: string, key: string, value: unknown, through: readonly string[]) => {
        await stack.cli(["config", "set", key, String(value)], { check: true });
        const prefix = `old-graph/${step}`;
        const writer = Writer.start({
            client,
            endpoints: [...through],
            prefix,
            intervalMs: 50,
            retryBudgetMs: 5_000,
            maxDurationMs: 400_000,
        });
        const sampler = new DownSampler(client, through);
        let up: CliRun;
        try {
            await waitForWrites(writer, `before ${step}`);
            up = await stack.up();
            keep(step, up);
        } finally {
            await sampler.stop();
            await writer.stop();
        }
        const report = await writer.stop();
        const readBack = await readBackThrough(client, through, prefix, report.written);
        console.log(
            `      ${step} (${key}=${value}): exit ${up.code} in ${up.seconds.toFixed(0)} s; at most ${sampler.mostDown} of ${through.length} members down in one sample (${sampler.samples} samples); ${report.written.length} keys written, ${readBack} read back, ${report.failed.length} failed writes, longest stall ${(report.longestStallMs / 1000).toFixed(1)} s`,
        );
        return { up, sampler, report, readBack };
    };

    before(async function () {
        if (!fs.existsSync(PULUMI) || process.getuid?.() !== 0) {
            console.log(`    skipped: needs root and ${PULUMI} (scripts/bootstrap.sh)`);
            this.skip();
        }
        ({ dir, stack, endpoints, client } = await deployOldGraph(
            name,
            [{ key: "etcd-aws:healthTimeoutSeconds", value: 60 }],
            keep,
        ));
    });

    after(() => removeOldGraph(dir, saved));

    it("an instance type change stops and starts every member at once: the 3 members' restarts overlap (etcd's own logs)", async () => {
        const since = Date.now();
        const { up, report } = await changed("2-instance-type", "etcd-aws:instanceType", "t3.large", endpoints);
        assert.equal(up.code, 0, up.output.slice(-6000));
        assert.equal(stepCount(up.output, `~ ${INSTANCE}: (update)`), 3, "every instance updated in the one up");
        // The local hosts stop and start in about 2 s, faster than the 1 s sampler's etcdctl round (dial timeout
        // 2 s) sees reliably: etcd's own logs say when each member stopped and served again.
        const windows = restartWindowsIn(memberLogFiles(dir), since);
        const allDown = Math.min(...windows.map((w) => w.serving)) - Math.max(...windows.map((w) => w.stopped));
        console.log(
            `${windows.map((w) => `      ${w.member}: stopped ${new Date(w.stopped).toISOString()}, serving ${new Date(w.serving).toISOString()}`).join("\n")}\n      all 3 members down together for ${(allDown / 1000).toFixed(1)} s; writer's longest stall ${(report.longestStallMs / 1000).toFixed(1)} s`,
        );
        assert.equal(windows.length, 3, "every member restarted");
        assert.ok(allDown > 0, "the three restarts overlap: every member down at the same time");
        assert.ok(report.longestStallMs >= allDown, "writes stalled while every member was down");
    });

    it("scale 3 -> 5 works on the old graph (the gate expects 5 and the two new members join)", async () => {
        const { up } = await changed("3-scale-out", "etcd-aws:memberCount", 5, endpoints);
        assert.equal(up.code, 0, up.output.slice(-6000));
        endpoints = ((await stack.outputs()) as { clientEndpoints: string[] }).clientEndpoints;
        assert.equal((await memberNames(endpoints)).length, 5);
    });

    it("scale 5 -> 3: the health gate runs during the update, sees 5 members, fails after its timeout; the two removed members never leave", async () => {
        const staying = endpoints.slice(0, 3);
        const { up, report, readBack } = await changed("4-scale-in", "etcd-aws:memberCount", 3, staying);
        assert.notEqual(up.code, 0, "the update fails");
        assert.match(up.output, /etcd-health: cluster did not become healthy within 60 s/);
        assert.equal(stepCount(up.output, `- ${INSTANCE}: (delete)`), 0, "no removed member deleted");
        assert.equal((await memberNames(staying)).length, 5, "the two removed members are still members");
        assert.deepEqual(report.failed, []);
        assert.equal(readBack, report.written.length);
    });
});

// A data volume size change on the old graph (the volume is one of the instance's ebsBlockDevices, ForceNew): the one
// up replaces every member's instance at once, as the new image does above, and fails the same way.
describe(`the old graph (${OLD_GRAPH}) on the local stack, 3 members on etcd ${VERSION} with a writer: a data volume size change`, function () {
    this.timeout(600_000);
    const saved = process.env.LOCALCLOUD_DIR;
    let dir = "";
    let stack: ProgramStack;
    let client: EtcdClient;
    let endpoints: string[] = [];
    const keep = keeper("volume-");

    before(async function () {
        if (!fs.existsSync(PULUMI) || process.getuid?.() !== 0) this.skip();
        ({ dir, stack, endpoints, client } = await deployOldGraph(`${STACK}-volume`, [], keep));
    });

    after(() => removeOldGraph(dir, saved));

    it("volumeSizeGiB 20 -> 24 (the old default) replaces every member's instance at once (ebsBlockDevices): the new empty members refuse to form a second cluster, the update fails", async () => {
        const prefix = "old-graph/volume";
        const writer = Writer.start({
            client,
            endpoints,
            prefix,
            intervalMs: 50,
            retryBudgetMs: 5_000,
            maxDurationMs: 400_000,
        });
        const sampler = new DownSampler(client, endpoints);
        let up: CliRun;
        try {
            await waitForWrites(writer, "before the resize");
            await stack.cli(["config", "set", "etcd-aws:volumeSizeGiB", "24"], { check: true });
            up = await stack.up();
            keep("2-volume-size", up);
        } finally {
            await sampler.stop();
            await writer.stop();
        }
        const report = await writer.stop();
        const readBack = await readBackThrough(client, endpoints, prefix, report.written);
        const replaced = stepCount(up.output, `+-${INSTANCE}: (replace)`);
        const refusals = up.output.split("refusing to form a second cluster").length - 1;
        console.log(
            `      up with volumeSizeGiB=24: exit ${up.code} in ${up.seconds.toFixed(0)} s; ${replaced} instances replaced, ${refusals} launches refused to form a second cluster; old members at most ${sampler.mostDown} of 3 down; ${instanceBoots(dir).size} instances and ${volumeCount(dir)} data volumes exist; ${report.written.length} keys written, ${readBack} read back, ${report.failed.length} failed writes, longest stall ${(report.longestStallMs / 1000).toFixed(1)} s`,
        );
        assert.notEqual(up.code, 0, "the update fails");
        assert.equal(replaced, 3, "every member's instance replaced in the one update");
        assert.equal(refusals, 3, "each new member refuses to form a second cluster");
        assert.deepEqual(report.failed, []);
        assert.equal(readBack, report.written.length, "the old members (pending deletion) still hold every key");
    });
});
