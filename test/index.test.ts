import { strict as assert } from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { CONFIG_KEYS } from "../core";
import { flagMap, launchFlags, ofType } from "./helpers/cluster";
import { at } from "./helpers/elements";
import { named, runProgram } from "../plan/mock-engine";
import { readStackFile } from "../plan/stack-file";

const ROOT = path.resolve(__dirname, "..");

function runStack(stack: string, overrides: Record<string, string> = {}) {
    const config = {
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----",
        ...readStackFile(stack).config,
        ...overrides,
    };
    return runProgram({ stack, config, secretConfigKeys: ["sshPrivateKey"] });
}

describe("the program (index.ts)", () => {
    it("declares every config key in Pulumi.yaml with its type, description and default", () => {
        const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
            stackConfigDir: string;
            runtime: unknown;
            config: Record<string, { type: string; description: string; default?: unknown }>;
        };
        assert.equal(project.stackConfigDir, "stacks");
        assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
        assert.deepEqual(
            Object.keys(project.config),
            CONFIG_KEYS.map((k) => k.key),
        );
        for (const key of CONFIG_KEYS) {
            const declared = project.config[key.key];
            assert.ok(declared, key.key);
            assert.equal(declared.type, key.type, key.key);
            assert.ok(declared.description.length > 10, key.key);
            assert.deepEqual(declared.default, key.default, key.key);
        }
    });

    it("dev: three t3.small members, plain http, static bootstrap", async () => {
        const run = await runStack("dev");
        const instances = ofType(run, "aws:ec2/instance:Instance");
        assert.deepEqual(
            instances.map((i) => [i.name, i.inputs.instanceType]),
            [
                ["dev-etcd-0", "t3.small"],
                ["dev-etcd-1", "t3.small"],
                ["dev-etcd-2", "t3.small"],
            ],
        );
        const flags = flagMap(launchFlags(run, "dev-etcd-0"));
        assert.match(flags["initial-cluster"] ?? "", /^dev-etcd-0=http:\/\/10\.0\.1\.10:2380,/);
        assert.equal(run.outputs.bootstrapMode, "static");
        assert.deepEqual(run.outputs.clientEndpoints, [
            "http://10.0.1.10:2379",
            "http://10.0.2.10:2379",
            "http://10.0.3.10:2379",
        ]);
        assert.equal(run.outputs.clusterToken, "etcd-aws-dev-dev-etcd");
    });

    it("staging: v3 discovery over TLS in the given subnets, behind the bastion", async () => {
        const run = await runStack("staging");
        const flags = flagMap(launchFlags(run, "staging-etcd-2"));
        assert.equal(flags["discovery-endpoints"], "http://10.20.0.50:2379");
        assert.equal(flags["discovery-token"], run.outputs.discoveryToken);
        assert.ok(run.secretOutputs.has("discoveryToken"));
        assert.ok(run.secretOutputs.has("clientKeyPem"));
        assert.equal(flags["cert-file"], "/etc/etcd/pki/server.crt");
        assert.deepEqual(
            [0, 1, 2].map((i) => named(run, `staging-etcd-${i}-nic`).inputs.subnetId),
            ["subnet-0aa1aa1aa1aa1aa10", "subnet-0bb2bb2bb2bb2bb20", "subnet-0cc3cc3cc3cc3cc30"],
        );
        assert.equal(ofType(run, "aws:ec2/eip:Eip").length, 0, "members behind the bastion get no public address");
        const proxy = named(run, "staging-etcd-0-install").inputs.connection.proxy;
        assert.match(proxy.hostKey, /^ssh-ed25519 AAAA\S+ bastion-staging$/);
    });

    it("prod: five Graviton members over three zones, DNS SRV bootstrap, io2 volumes, tuned flags", async () => {
        const run = await runStack("prod");
        const instances = ofType(run, "aws:ec2/instance:Instance");
        assert.equal(instances.length, 5);
        const volumes = ofType(run, "aws:ebs/volume:Volume");
        assert.equal(new Set(volumes.map((v) => v.inputs.availabilityZone)).size, 3);
        assert.equal(volumes.length, 5);
        assert.ok(volumes.every((v) => v.inputs.type === "io2" && v.inputs.iops === 6000));
        const flags = flagMap(launchFlags(run, "prod-etcd-4"));
        assert.equal(flags["discovery-srv"], "etcd.prod.internal");
        assert.equal(flags["snapshot-count"], "10000");
        assert.equal(flags["auto-compaction-retention"], "1h");
        assert.match(
            ofType(run, "command:remote:Command").find((c) => c.name === "prod-etcd-0-install")?.inputs.stdin,
            /linux-arm64\.tar\.gz/,
        );
    });

    it("rolls instances one member at a time once its own last deployment (a self StackReference) has members", async () => {
        const config = { sshPrivateKey: "k", ...readStackFile("dev").config };
        const instanceWaits = async (lastOutputs?: Record<string, unknown>) => {
            const run = await runProgram({ stack: "dev", config, secretConfigKeys: ["sshPrivateKey"], lastOutputs });
            const reference = at(ofType(run, "pulumi:pulumi:StackReference"), 0, "stack reference");
            assert.equal(reference.inputs.name, "organization/etcd-aws/dev");
            return [0, 1, 2].map((i) =>
                [
                    ...(ofType(run, "aws:ec2/instance:Instance").find((r) => r.name === `dev-etcd-${i}`)
                        ?.dependencies ?? []),
                ].filter((d) => d.endsWith("-ready")),
            );
        };
        assert.deepEqual(await instanceWaits(), [[], [], []]);
        assert.deepEqual(await instanceWaits({ memberNames: [] }), [[], [], []]);
        assert.deepEqual(await instanceWaits({ memberNames: ["dev-etcd-0", "dev-etcd-1", "dev-etcd-2"] }), [
            [],
            ["dev-etcd-0-ready"],
            ["dev-etcd-1-ready"],
        ]);
    });

    it("refuses a bastion without its host key or the members' internet path, in the stack's key names; the fixes deploy", async () => {
        const bastionKey = readStackFile("staging").config.bastionHostKey;
        await assert.rejects(runStack("staging", { bastionHostKey: "", privateEgress: "" }), (error: Error) => {
            assert.match(error.message, /bastionHostKey = \(not set\): is required with a bastion/);
            assert.match(error.message, /privateEgress = \(not set\): members behind a bastion have no public IP/);
            return true;
        });
        await assert.rejects(
            runStack("staging", { bastionHostKey: `bastion.staging.example.com ${bastionKey}` }),
            /drop the host name/,
        );
        const run = await runStack("staging");
        assert.equal(ofType(run, "aws:ec2/instance:Instance").length, 3);
    });

    it("reports malformed config values and invalid settings together, before registering anything", async () => {
        await assert.rejects(
            runStack("dev", {
                memberCount: "three",
                tls: "yes",
                bootstrapMode: "gossip",
                clientCidrs: JSON.stringify(["0.0.0.0/0"]),
            }),
            (error: Error) => {
                assert.match(error.message, /^stack "dev": \d+ problems in the configuration, nothing was deployed:/);
                for (const text of [
                    'memberCount = "three": is not a whole number',
                    'tls = "yes": is not true or false',
                    'bootstrapMode = "gossip": unknown bootstrap mode',
                    'clientCidrs[0] = "0.0.0.0/0": opens etcd',
                ]) {
                    assert.ok(error.message.includes(text), text);
                }
                return true;
            },
        );
    });

    /** Runs `check` with the working directory in a copy of stacks/ changed by `edit` (the program reads the files beside it, as under the CLI). */
    async function withStackFiles(edit: (dir: string) => void, check: () => Promise<void>): Promise<void> {
        const project = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-aws-stacks-"));
        fs.cpSync(path.join(ROOT, "stacks"), path.join(project, "stacks"), { recursive: true });
        edit(path.join(project, "stacks"));
        const cwd = process.cwd();
        process.chdir(project);
        try {
            await check();
        } finally {
            process.chdir(cwd);
            fs.rmSync(project, { recursive: true, force: true });
        }
    }

    it("refuses a cluster token that another stack's file already sets", async () => {
        await withStackFiles(
            (dir) => fs.appendFileSync(path.join(dir, "Pulumi.prod.yaml"), "  etcd-aws:clusterToken: etcd-prod-main\n"),
            () =>
                assert.rejects(
                    runStack("dev", { clusterToken: "etcd-prod-main" }),
                    /clusterToken = "etcd-prod-main": already used by another cluster/,
                ),
        );
    });

    it("names another stack's file that is not YAML instead of skipping its token", async () => {
        await withStackFiles(
            (dir) => fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config: [etcd-aws:clusterToken\n"),
            () =>
                assert.rejects(
                    runStack("dev"),
                    /stacks\/Pulumi\.broken\.yaml is not valid YAML, so its clusterToken cannot be checked/,
                ),
        );
    });
});
