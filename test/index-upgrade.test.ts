// The program (index.ts) reads the release the cluster runs from its own last outputs (a self
// StackReference) and refuses a version change etcd does not support before any resource of the
// cluster is registered.
import { strict as assert } from "assert";
import * as path from "path";
import { MockRun, runProgram, runUnderMocks } from "../plan/mock-engine";
import { planStack } from "../plan/plan";
import { readStackFile } from "../plan/stack-file";
import { ofType } from "./helpers/cluster";

const ROOT = path.resolve(__dirname, "..");
const SSH_KEY = { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" };

function stackConfig(stack: string, overrides: Record<string, string>): Record<string, string> {
    return { ...SSH_KEY, ...readStackFile(stack).config, ...overrides };
}

/** Runs the program expecting a refusal: its message, and what was registered before it. */
async function refusal(
    stack: string,
    overrides: Record<string, string>,
    running: string,
    lastOutputs: Record<string, unknown> = {},
): Promise<{ message: string; run: MockRun }> {
    let message = "";
    const run = await runUnderMocks(
        {
            stack,
            config: stackConfig(stack, overrides),
            secretConfigKeys: ["sshPrivateKey"],
            lastOutputs: { etcdVersion: running, ...lastOutputs },
        },
        () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run (runUnderMocks forgets the project modules), not a static import
            const deploy = require(path.join(ROOT, "index.ts")) as () => Promise<Record<string, unknown>>;
            return deploy().then(
                () => assert.fail("the program deployed"),
                (error: Error) => {
                    message = error.message;
                    return {};
                },
            );
        },
    );
    return { message, run };
}

describe("the program (index.ts): the etcd version change from the running release", () => {
    const refused: readonly {
        name: string;
        stack: string;
        set: Record<string, string>;
        running: string;
        line: string;
    }[] = [
        {
            name: "3.5.16 -> 3.6.14 (3.5.26 or later first)",
            stack: "dev",
            set: { etcdVersion: "3.6.14" },
            running: "3.5.16",
            line: `  1. etcdVersion = "3.6.14": the cluster runs etcd 3.5.16, and 3.5.16 -> 3.6.14 needs 3.5.26 or later first: etcd's upgrade guide asks every member to run it before 3.6. Fix: set etcd-aws:etcdVersion=3.5.33, pulumi up, then set etcd-aws:etcdVersion=3.6.14, pulumi up.`,
        },
        {
            name: "3.4 -> 3.6",
            stack: "dev",
            set: { etcdVersion: "3.6.14" },
            running: "3.4.23",
            line: `  1. etcdVersion = "3.6.14": the cluster runs etcd 3.4.23, and 3.4.23 -> 3.6.14 skips 3.5: etcd upgrades one minor release at a time. Fix: set etcd-aws:etcdVersion=3.5.33, pulumi up, then set etcd-aws:etcdVersion=3.6.14, pulumi up.`,
        },
        {
            name: "3.5 -> 3.7",
            stack: "dev",
            set: { etcdVersion: "3.7.3" },
            running: "3.5.30",
            line: `  1. etcdVersion = "3.7.3": the cluster runs etcd 3.5.30, and 3.5.30 -> 3.7.3 skips 3.6: etcd upgrades one minor release at a time. Fix: set etcd-aws:etcdVersion=3.6.16, pulumi up, then set etcd-aws:etcdVersion=3.7.3, pulumi up.`,
        },
        {
            name: "a downgrade below 3.6",
            stack: "dev",
            set: { etcdVersion: "3.5.33" },
            running: "3.6.14",
            line: `  1. etcdVersion = "3.5.33": the cluster runs etcd 3.6.14, and 3.6.14 -> 3.5.33 is a downgrade below 3.6: an older binary refuses a data dir a newer release wrote, and etcd's downgrade API exists from 3.6 on. Fix: keep etcd-aws:etcdVersion=3.6.14, or restore a snapshot taken before the upgrade into a new cluster.`,
        },
        {
            name: "3.4 -> 3.5 with auth on (prod)",
            stack: "prod",
            set: { etcdVersion: "3.5.16" },
            running: "3.4.23",
            line: '  1. etcdVersion = "3.5.16": the cluster runs etcd 3.4.23, and etcd 3.5 changed the write-ahead log entries of authentication, so a rolling 3.4 -> 3.5 upgrade is not supported with auth on. Fix: turn authentication off (`etcdctl auth disable` as root), set etcd-aws:auth=false, pulumi up, then set etcd-aws:etcdVersion=3.5.16, pulumi up, then set etcd-aws:auth=true, pulumi up (turns it on again).',
        },
    ];
    for (const { name, stack, set, running, line } of refused) {
        it(`refuses ${name} with the path spelled out, before any resource but the stack reference`, async () => {
            const { message, run } = await refusal(stack, set, running);
            assert.equal(
                message,
                [`stack "${stack}": 1 problem in the configuration, nothing was deployed:`, line].join("\n"),
            );
            assert.deepEqual(
                run.resources.map((resource) => resource.type),
                ["pulumi:pulumi:StackReference"],
            );
        });
    }

    it("reads the running release from the stack's own last outputs (organization/project/stack)", async () => {
        const { run } = await refusal("dev", { etcdVersion: "3.6.14" }, "3.4.23");
        const [reference] = run.resources;
        assert.equal(reference?.inputs.name, "organization/etcd-aws/dev");
    });

    it("deploys a supported hop (3.5.30 -> 3.6.16) and exports the new release", async () => {
        const run = await runProgram({
            stack: "dev",
            config: stackConfig("dev", { etcdVersion: "3.6.16" }),
            secretConfigKeys: ["sshPrivateKey"],
            lastOutputs: { etcdVersion: "3.5.30" },
        });
        assert.equal(ofType(run, "aws:ec2/instance:Instance").length, 3);
        assert.equal(run.outputs.etcdVersion, "3.6.16");
    });

    it("the offline plan with a running version refuses the same jump with the same message", async () => {
        await assert.rejects(planStack("dev", {}, { runningVersion: "3.5.16" }), {
            message: [
                'stack "dev": 1 problem in the configuration, nothing was deployed:',
                `  1. etcdVersion = "3.6.14": the cluster runs etcd 3.5.16, and 3.5.16 -> 3.6.14 needs 3.5.26 or later first: etcd's upgrade guide asks every member to run it before 3.6. Fix: set etcd-aws:etcdVersion=3.5.33, pulumi up, then set etcd-aws:etcdVersion=3.6.14, pulumi up.`,
            ].join("\n"),
        });
    });

    it("checks no path on the first deployment (no outputs yet): any supported release deploys", async () => {
        const run = await runProgram({
            stack: "dev",
            config: stackConfig("dev", { etcdVersion: "3.4.23" }),
            secretConfigKeys: ["sshPrivateKey"],
        });
        assert.equal(run.outputs.etcdVersion, "3.4.23");
    });

    it("refuses a restore that would also change the member count from the 3 members the last deployment has, before any resource of the cluster", async () => {
        const { message, run } = await refusal(
            "dev",
            {
                memberCount: "5",
                backupBucket: "dev-etcd-backups",
                restoreFromSnapshot: "s3://dev-etcd-backups/etcd-backups/dev-etcd/20261202T101500Z-rev4711.db",
                restoreDiscardsCurrentData: "dev-etcd",
            },
            "3.6.14",
            { memberNames: ["dev-etcd-0", "dev-etcd-1", "dev-etcd-2"] },
        );
        assert.match(message, /restoreFromSnapshot = .*restores the 3 members that run, but memberCount asks for 5/);
        assert.equal(ofType(run, "etcd-aws:index:EtcdCluster").length, 0);
    });
});
