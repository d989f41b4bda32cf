// localcloud/stack.ts: the local stack's command line and the stack file it writes (the local cloud's keys, local
// defaults, --set keys kept from run to run).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import {
    etcdctlEndpoints,
    localStackConfig,
    parseSetting,
    parseStackCommand,
    projectConfigTypes,
    stackFileText,
    StackUsageError,
    versionRefusal,
} from "../../localcloud/stack";
import { formatProblems, validateSettings } from "../../core";
import { asStackProblem, readStackConfig } from "../../core/stack-config";

const TYPES = projectConfigTypes(fs.readFileSync(path.resolve(__dirname, "..", "..", "Pulumi.yaml"), "utf8"));
const CONFIG = localStackConfig({
    stack: "local",
    vpcId: "vpc-1",
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    keyName: "etcd-aws-local",
    mirrorBaseUrl: "http://127.0.19.2:8480",
});
const configOf = (text: string) => (load(text) as { config: Record<string, unknown> }).config;

describe("localcloud/stack", () => {
    it("reads each key's declared type from Pulumi.yaml", () => {
        assert.deepEqual(
            [TYPES.memberCount, TYPES.tls, TYPES.extraFlags, TYPES.etcdVersion, TYPES.sshPrivateKey],
            ["integer", "boolean", "array", "string", "string"],
        );
    });

    describe("--set", () => {
        it("types each value as Pulumi.yaml declares it; a key without a namespace is the project's", () => {
            assert.deepEqual(
                [
                    "etcd-aws:memberCount=5",
                    "tls=false",
                    "etcd-aws:etcdVersion=3.5.16",
                    "etcd-aws:extraFlags=snapshot-count=10000,auto-compaction-retention=1h",
                    'etcd-aws:clientCidrs=["127.0.0.1/32","10.0.0.0/8"]',
                    "etcd-aws:amiId=",
                ].map((text) => parseSetting(text, TYPES)),
                [
                    { key: "etcd-aws:memberCount", value: 5 },
                    { key: "etcd-aws:tls", value: false },
                    { key: "etcd-aws:etcdVersion", value: "3.5.16" },
                    {
                        key: "etcd-aws:extraFlags",
                        value: ["snapshot-count=10000", "auto-compaction-retention=1h"],
                    },
                    { key: "etcd-aws:clientCidrs", value: ["127.0.0.1/32", "10.0.0.0/8"] },
                    { key: "etcd-aws:amiId", value: undefined },
                ],
            );
        });

        for (const [text, message] of [
            ["memberCount", /--set takes key=value, not memberCount/],
            ["etcd-aws:memberCount=five", /etcd-aws:memberCount takes an integer, not five/],
            ["etcd-aws:tls=yes", /etcd-aws:tls takes true or false, not yes/],
            ["etcd-aws:memberCont=5", /etcd-aws:memberCont is not a key of the stacks/],
            ["other:key=1", /other:key is not a key of the stacks/],
            ["etcd-aws:vpcId=vpc-2", /etcd-aws:vpcId is the local cloud's/],
            ["etcd-aws:sshPrivateKey=x", /etcd-aws:sshPrivateKey is the local cloud's/],
        ] as const) {
            it(`refuses ${text} with a message naming the key`, () => {
                assert.throws(
                    () => parseSetting(text, TYPES),
                    (error: Error) => {
                        assert.ok(error instanceof StackUsageError);
                        assert.match(error.message, message);
                        return true;
                    },
                );
            });
        }
    });

    describe("the command line", () => {
        it("takes a command, --stack (default local) and repeated --set", () => {
            assert.deepEqual(parseStackCommand(["up"], TYPES), { command: "up", stack: "local", settings: [] });
            assert.deepEqual(
                parseStackCommand(
                    ["up", "--stack", "local-five", "--set", "etcd-aws:memberCount=5", "--set", "tls=false"],
                    TYPES,
                ),
                {
                    command: "up",
                    stack: "local-five",
                    settings: [
                        { key: "etcd-aws:memberCount", value: 5 },
                        { key: "etcd-aws:tls", value: false },
                    ],
                },
            );
            assert.equal(parseStackCommand(["destroy", "--stack", "local-a"], TYPES).command, "destroy");
        });

        for (const [args, message] of [
            [["down"], /the local stack's commands are up, preview, destroy/],
            [["up", "again"], /the local stack's commands are up, preview, destroy/],
            [["up", "--stack", "prod"], /--stack takes local or local-<name> .*not prod/],
            [["up", "--stack", "local_1"], /not local_1/],
            [["destroy", "--set", "tls=false"], /--set goes with up or preview, not destroy/],
            [["up", "--mode", "dns"], /Unknown option '--mode'/],
        ] as const) {
            it(`refuses ${args.join(" ")}`, () => {
                assert.throws(() => parseStackCommand([...args], TYPES), message);
            });
        }
    });

    it("etcdctl here gets the members' addresses for DNS names (dns mode), the endpoints as they are otherwise", () => {
        const addresses = ["127.0.20.10", "127.0.21.10"];
        assert.deepEqual(
            etcdctlEndpoints(
                ["https://m-0.local.etcd.internal:2379", "https://m-1.local.etcd.internal:2379"],
                addresses,
            ),
            ["https://127.0.20.10:2379", "https://127.0.21.10:2379"],
        );
        assert.deepEqual(etcdctlEndpoints(["http://127.0.20.10:2379"], addresses), ["http://127.0.20.10:2379"]);
    });

    describe("the stack file", () => {
        it("a new stack gets the local cloud's keys and the local defaults, then the --set keys", () => {
            const text = stackFileText(undefined, CONFIG, [{ key: "etcd-aws:memberCount", value: 5 }]);
            assert.match(text, /^# A local stack \(scripts\/local-cluster.sh up\)/);
            assert.deepEqual(configOf(text), {
                "aws:region": "local-1",
                "etcd-aws:clientCidrs": ["127.0.0.1/32"],
                "etcd-aws:clusterName": "local",
                "etcd-aws:healthTimeoutSeconds": 120,
                "etcd-aws:memberCount": 5,
                "etcd-aws:mirrorBaseUrl": "http://127.0.19.2:8480",
                "etcd-aws:sshCidrs": ["127.0.0.1/32"],
                "etcd-aws:sshKeyName": "etcd-aws-local",
                "etcd-aws:subnetIds": ["subnet-a", "subnet-b", "subnet-c"],
                "etcd-aws:vpcId": "vpc-1",
            });
        });

        it("a later run keeps earlier --set keys, the salt and the secret, rewrites the local cloud's keys, unsets empties", () => {
            const earlier = stackFileText(undefined, CONFIG, [
                { key: "etcd-aws:memberCount", value: 5 },
                { key: "etcd-aws:amiId", value: "ami-1" },
            ]).replace(
                "config:\n",
                "encryptionsalt: v1:salt\nconfig:\n  etcd-aws:sshPrivateKey:\n    secure: v1:ciphertext\n",
            );
            const moved = { ...CONFIG, owned: { ...CONFIG.owned, "etcd-aws:vpcId": "vpc-2" } };
            const later = stackFileText(earlier, moved, [
                { key: "etcd-aws:volumeSizeGiB", value: 40 },
                { key: "etcd-aws:amiId", value: undefined },
            ]);
            const document = load(later) as { encryptionsalt: string; config: Record<string, unknown> };
            assert.equal(document.encryptionsalt, "v1:salt");
            assert.deepEqual(document.config["etcd-aws:sshPrivateKey"], { secure: "v1:ciphertext" });
            assert.equal(document.config["etcd-aws:memberCount"], 5);
            assert.equal(document.config["etcd-aws:volumeSizeGiB"], 40);
            assert.equal(document.config["etcd-aws:vpcId"], "vpc-2");
            assert.equal("etcd-aws:amiId" in document.config, false);
        });
    });

    describe("a stack with backups", () => {
        const endpoints = {
            s3Endpoint: "https://127.0.19.80",
            imdsEndpoint: "http://127.0.19.254",
            s3CaPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        };
        let asked = 0;
        const withBackups = localStackConfig({
            stack: "local",
            vpcId: "vpc-1",
            subnetIds: ["subnet-a"],
            keyName: "etcd-aws-local",
            mirrorBaseUrl: "http://127.0.19.2:8480",
            backupEndpoints: () => {
                asked += 1;
                return endpoints;
            },
        });
        it("gets the local cloud's S3 endpoint, IMDS stand-in and CA while backupBucket is set, and loses them without it", () => {
            const plain = configOf(stackFileText(undefined, withBackups, []));
            assert.equal(plain["etcd-aws:backupS3Endpoint"], undefined);
            assert.equal(asked, 0, "no bucket: the local CA is not asked for");
            const set = [parseSetting("backupBucket=local-backups", TYPES)];
            const text = stackFileText(undefined, withBackups, set);
            const config = configOf(text);
            assert.equal(config["etcd-aws:backupS3Endpoint"], endpoints.s3Endpoint);
            assert.equal(config["etcd-aws:backupImdsEndpoint"], endpoints.imdsEndpoint);
            assert.equal(config["etcd-aws:backupS3CaPem"], endpoints.s3CaPem);
            const unset = configOf(stackFileText(text, withBackups, [parseSetting("backupBucket=", TYPES)]));
            assert.deepEqual(
                Object.keys(unset).filter((key) => key.startsWith("etcd-aws:backup")),
                [],
            );
        });
        for (const key of ["backupS3Endpoint", "backupImdsEndpoint", "backupS3CaPem"]) {
            it(`refuses --set ${key} (the local cloud's)`, () => {
                assert.throws(() => parseSetting(`${key}=x`, TYPES), /the local cloud's/);
            });
        }
    });

    describe("an etcdVersion change the running cluster cannot take", () => {
        const stack = "local-upgrade";
        const existing = stackFileText(undefined, CONFIG, [{ key: "etcd-aws:etcdVersion", value: "3.5.16" }]);
        const up = (version: string) =>
            parseStackCommand(["up", "--stack", stack, "--set", `etcd-aws:etcdVersion=${version}`], TYPES);
        /** What the program's validation (index.ts) reports for the same config and running release. */
        function programMessage(version: string, running: string): string {
            const { config } = readStackConfig((key) =>
                key === "etcdVersion" ? version : key === "clusterName" ? stack : undefined,
            );
            const problems = validateSettings(config.clusterName, config.settings, {
                project: "etcd-aws",
                stack,
                runningVersion: running,
            }).problems.filter((problem) => problem.setting === "etcdVersion");
            return formatProblems(`stack "${stack}"`, problems.map(asStackProblem));
        }

        it("is refused with the program's own message: 3.5.16 -> 3.6.16 needs 3.5.26 or later first", () => {
            const refusal = versionRefusal(up("3.6.16"), existing, "3.5.16");
            assert.equal(refusal, programMessage("3.6.16", "3.5.16"));
            assert.match(
                refusal ?? "",
                /^stack "local-upgrade": 1 problem in the configuration, nothing was deployed:\n {2}1\. etcdVersion = "3\.6\.16": the cluster runs etcd 3\.5\.16, and 3\.5\.16 -> 3\.6\.16 needs 3\.5\.26 or later first/,
            );
        });

        it("skipping a minor (3.4 -> 3.6, 3.5 -> 3.7) is refused the same way; a supported hop, the same release or a first deployment is not", () => {
            assert.equal(versionRefusal(up("3.6.16"), existing, "3.4.23"), programMessage("3.6.16", "3.4.23"));
            assert.match(versionRefusal(up("3.6.16"), existing, "3.4.23") ?? "", /skips 3\.5: etcd upgrades one minor/);
            assert.match(versionRefusal(up("3.7.3"), existing, "3.5.30") ?? "", /skips 3\.6/);
            assert.equal(versionRefusal(up("3.5.30"), existing, "3.5.16"), undefined);
            assert.equal(versionRefusal(up("3.5.16"), existing, "3.4.23"), undefined);
            assert.equal(versionRefusal(up("3.6.16"), existing, undefined), undefined);
            // No --set: the stack file's own release is judged.
            const idle = parseStackCommand(["preview", "--stack", stack], TYPES);
            assert.equal(versionRefusal(idle, existing, "3.5.16"), undefined);
            assert.match(versionRefusal(idle, existing, "3.6.16") ?? "", /downgrade below 3\.6/);
        });
    });
});
