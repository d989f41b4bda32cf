// Random configurations: every invalid one is refused before any resource is registered, with
// one error naming each bad setting, its value and a fix; every valid one deploys a graph that
// passes the security checklist.
import { strict as assert } from "assert";
import fc from "fast-check";
import type { EtcdClusterArgs } from "../../components";
import { NEWEST_KNOWN_RELEASES } from "../../core/versions";
import { constructionError, runCluster } from "../helpers/cluster";
import { at } from "../helpers/elements";
import { securityChecklist } from "../helpers/security-checklist";

/** A setting's generator: valid values, and invalid values tagged with the setting's name. */
interface Field {
    readonly name: keyof EtcdClusterArgs;
    readonly valid: fc.Arbitrary<unknown>;
    readonly invalid: fc.Arbitrary<unknown>;
}

const cidr = fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }))
    .map(([a, b]) => `${a}.${b}.0.0/16`);

const FIELDS: readonly Field[] = [
    { name: "memberCount", valid: fc.constantFrom(1, 3, 5, 7), invalid: fc.constantFrom(0, 2, 4, 6, 8, -1, 1.5, 9) },
    {
        name: "etcdVersion",
        valid: fc
            .constantFrom("3.5", "3.6", "3.7")
            .chain((line) =>
                fc.nat(Number(NEWEST_KNOWN_RELEASES[line].split(".")[2])).map((patch) => `${line}.${patch}`),
            ),
        invalid: fc.constantFrom("3.3.0", "4.0.0", "latest", "3.6", "v3", ""),
    },
    {
        name: "bootstrapMode",
        valid: fc.constantFrom("static", "dns"),
        invalid: fc.constantFrom("gossip", "", "STATIC", "srv"),
    },
    {
        name: "clientCidrs",
        valid: fc.array(cidr, { maxLength: 3 }),
        invalid: fc.constantFrom(["10.0.0.1/16"], ["300.0.0.0/8"], ["0.0.0.0/0"], ["10.0.0.0/33"]),
    },
    {
        name: "sshCidrs",
        valid: fc.array(cidr, { maxLength: 2 }),
        invalid: fc.constantFrom(["0.0.0.0/0"], ["10.1.1.1/8"], ["banana"]),
    },
    {
        name: "instanceType",
        valid: fc.constantFrom("t3.medium", "m6i.large", "m7g.xlarge", "r6gd.2xlarge"),
        invalid: fc.constantFrom("t3", "big", "M5.LARGE", ".large"),
    },
    {
        name: "volumeSizeGiB",
        valid: fc.integer({ min: 8, max: 16384 }),
        invalid: fc.constantFrom(0, 7, 20000, 10.5, -20),
    },
    { name: "clientPort", valid: fc.constant(2379), invalid: fc.constantFrom(80, 70000, 2380, 22, 0) },
    {
        name: "extraFlags",
        valid: fc.constantFrom(
            {},
            { "snapshot-count": "10000" },
            { "heartbeat-interval": "200", "election-timeout": "2000" },
        ),
        invalid: fc.constantFrom(
            { "initial-cluster": "a=http://1.2.3.4:2380" },
            { "no-such-flag": "1" },
            { "-peers": "10.0.0.1:7001" },
            { "election-timeout": "100" },
        ),
    },
    {
        name: "domain",
        valid: fc.constantFrom("etcd.example.internal", "prod.etcd.corp"),
        invalid: fc.constantFrom("Bad_Domain.com", "single", "-x.example.com", "a..b"),
    },
];

/** Arguments where each field is independently valid or invalid; `bad` names the invalid ones. */
const configuration = fc
    .tuple(
        ...FIELDS.map((field) =>
            fc.oneof(
                field.valid.map((value) => ({ value, bad: false })),
                field.invalid.map((value) => ({ value, bad: true })),
            ),
        ),
    )
    .map((choices) => ({
        args: Object.fromEntries(
            choices.map((choice, i) => [at(FIELDS, i, "field").name, choice.value]),
        ) as Partial<EtcdClusterArgs>,
        bad: FIELDS.filter((_, i) => at(choices, i, "choice").bad).map((field) => field.name as string),
    }));

describe("random configurations (fast-check)", () => {
    it("every invalid configuration is refused before any resource exists, naming each bad setting with its value and a fix", async function () {
        this.timeout(120_000);
        await fc.assert(
            fc.asyncProperty(
                configuration.filter((c) => c.bad.length > 0),
                async ({ args, bad }) => {
                    const { error, run } = await constructionError(args);
                    assert.equal(error.name, "EtcdClusterConfigError");
                    assert.deepEqual(run?.resources, [], "nothing registered");
                    const named: string[] = error.problems.map((p: { setting: string }) => p.setting);
                    for (const setting of bad) {
                        assert.ok(
                            named.some((n) => n.split(/[.[/]/)[0] === setting || n.includes(setting)),
                            `${setting} not named in: ${named.join(", ")}`,
                        );
                    }
                    for (const problem of error.problems) {
                        assert.ok(
                            error.message.includes(
                                `${problem.setting} = ${problem.value === undefined ? "(not set)" : JSON.stringify(problem.value)}: `,
                            ),
                            problem.setting,
                        );
                    }
                    assert.equal((error.message.match(/ Fix: /g) ?? []).length, error.problems.length);
                    assert.doesNotMatch(error.message, /\n\s+at /, "no stack trace in the message");
                },
            ),
            { numRuns: 25, seed: 20261121 },
        );
    });

    it("every valid configuration deploys a graph that passes the security checklist", async function () {
        this.timeout(120_000);
        await fc.assert(
            fc.asyncProperty(
                configuration.filter((c) => c.bad.length === 0),
                async ({ args }) => {
                    const run = await runCluster(args);
                    const failed = securityChecklist(run, {
                        clusterName: "test-etcd",
                        memberCount: (args.memberCount as number) ?? 3,
                        tls: true,
                        clientCidrs: (args.clientCidrs as string[]) ?? [],
                        clientSecurityGroupIds: [],
                        sshCidrs: (args.sshCidrs as string[]) ?? [],
                        monitoringCidrs: [],
                        allowPublicAccess: false,
                        ports: { client: 2379, peer: 2380, metrics: 2381 },
                        secretOutputNames: ["test-etcd.clientKeyPem", "test-etcd.discoveryToken"],
                    }).filter((item) => !item.pass);
                    assert.deepEqual(failed, []);
                },
            ),
            { numRuns: 6, seed: 20261121 },
        );
    });
});
