// Fuzz at the boundaries (fast-check, seeded and bounded): random stack configurations (raw
// strings, as the CLI hands them over, with typos among the keys) and random component
// arguments (values of any type). Validation never throws, finds every bad value in one pass,
// and every message names a key the user can type.
import { strict as assert } from "assert";
import fc from "fast-check";
import { EtcdClusterArgs, validateClusterArgs } from "../../components";
import { CONFIG_KEYS, ConfigProblem, formatProblems, readStackConfig } from "../../core";
import { asStackProblem, unknownConfigKeys } from "../../core/stack-config";
import { SETTING_KINDS } from "../../core/validate/arg-types";
import { RESOURCE_ARG_KINDS } from "../../core/deployment";
import { SSH } from "../helpers/cluster";
import { at } from "../helpers/elements";

const SEED = 20261201;
const KEYS = new Set(CONFIG_KEYS.map((spec) => spec.key));

/** Raw values that each key refuses whatever the other keys say. */
const BAD_RAW: Readonly<Record<string, readonly string[]>> = {
    memberCount: ["4", "three", "9", "-1"],
    etcdVersion: ["3.3.0", "latest", "3.6.99"],
    bootstrapMode: ["gossip", "STATIC"],
    tls: ["yes", "1"],
    certificateValidityDays: ["0", "5000", "x"],
    clientCidrs: ['["0.0.0.0/0"]', '["10.0.0.1/8"]', '"10.0.0.0/8"', '["::/0"]'],
    sshCidrs: ['["0.0.0.0/1","128.0.0.0/1"]', "[1]"],
    instanceType: ["big", ".large"],
    volumeSizeGiB: ["7", "1.5"],
    volumeType: ["st1", "standard"],
    mirrorBaseUrl: ["ftp://mirror", "not a url"],
    etcdSha256: ["abc"],
    extraFlags: ['["unsafe-no-fsync=true"]', '["force-new-cluster=true"]', '["initial-cluster=a"]', '["nope"]'],
    clientPort: ["22", "80", "70000"],
    healthTimeoutSeconds: ["5", "soon"],
    // No key sets bootstrapMode "discovery", so the discovery keys always conflict.
    discoveryServiceUrl: ["http://10.0.0.5:2379/v2/keys/_etcd/registry"],
    discoverySize: ["3"],
};

/** Raw values each key takes (some of them warn, none is refused alone). */
const GOOD_RAW: Readonly<Record<string, readonly string[]>> = {
    memberCount: ["1", "3", "5"],
    etcdVersion: ["3.5.33", "3.6.16", "3.7.3"],
    tls: ["true", "false"],
    instanceType: ["t3.medium", "m7g.large", "t3.micro"],
    clientCidrs: ['["10.0.0.0/16"]', "[]"],
    extraFlags: ['["snapshot-count=10000"]', '["enable-pprof=true"]'],
    volumeSizeGiB: ["20", "100"],
};

/** The stack keys a problem's setting names: each part of "a/b", without [i] or "(flag)". */
function typedKeys(setting: string): string[] {
    return setting.split("/").map((part) => part.replace(/\[\d+\]$/, "").replace(/ \(.+\)$/, ""));
}

const typo = fc
    .constantFrom(...CONFIG_KEYS.map((spec) => spec.key))
    .chain((key) => fc.nat(key.length - 1).map((i) => `${key.slice(0, i)}${key.slice(i + 1)}`))
    .filter((key) => !KEYS.has(key));

/** Raw value `n` (wrapping around) of the table's list for `key`. */
function rawValue(table: Readonly<Record<string, readonly string[]>>, key: string, n: number): string {
    const values = table[key];
    if (values === undefined) {
        throw new Error(`no raw values for ${key}`);
    }
    return at(values, n % values.length, `raw value for ${key}`);
}

/** A stack configuration: good and bad values for some keys, maybe a typo key. */
const stackConfiguration = fc.record({
    bad: fc.dictionary(fc.constantFrom(...Object.keys(BAD_RAW)), fc.nat(), { maxKeys: 4 }),
    good: fc.dictionary(fc.constantFrom(...Object.keys(GOOD_RAW)), fc.nat(), { maxKeys: 4 }),
    typos: fc.array(typo, { maxLength: 2 }),
});

/** What the program (index.ts) reports for a stack's raw configuration. */
function programProblems(raw: Record<string, string>, fullKeys: string[]): ConfigProblem[] {
    const { config, problems } = readStackConfig((key) => raw[key]);
    const args = { ...config.settings, healthTimeoutSeconds: config.healthTimeoutSeconds, ssh: SSH } as EtcdClusterArgs;
    return [
        ...unknownConfigKeys("etcd-aws", fullKeys),
        ...problems,
        ...validateClusterArgs(config.clusterName, args).problems.map(asStackProblem),
    ];
}

describe("fuzz: stack configuration (fast-check)", () => {
    it("never throws, names every bad key in one pass, and every message names a key the user can type", function () {
        this.timeout(10_000);
        fc.assert(
            fc.property(stackConfiguration, ({ bad, good, typos }) => {
                const raw: Record<string, string> = {};
                for (const [key, n] of Object.entries(good)) {
                    raw[key] = rawValue(GOOD_RAW, key, n);
                }
                for (const [key, n] of Object.entries(bad)) {
                    raw[key] = rawValue(BAD_RAW, key, n);
                }
                const fullKeys = [...Object.keys(raw), ...typos].map((key) => `etcd-aws:${key}`);
                const problems = programProblems(raw, fullKeys);
                const named = new Set(problems.flatMap((problem) => typedKeys(problem.setting)));
                for (const key of [...Object.keys(bad), ...typos.map((t) => `etcd-aws:${t}`)]) {
                    assert.ok(named.has(key), `${key} not named in: ${[...named].join(", ")}`);
                }
                for (const problem of problems) {
                    for (const key of typedKeys(problem.setting)) {
                        assert.ok(
                            KEYS.has(key) || fullKeys.includes(key),
                            `"${key}" (of ${problem.setting}) is no key of the stack`,
                        );
                    }
                    assert.ok(problem.problem.length > 0 && problem.fix.length > 0, problem.setting);
                    assert.doesNotMatch(
                        `${problem.problem} ${problem.fix}`,
                        /\bdiscovery\.|\bssh\./,
                        "argument paths instead of stack keys",
                    );
                }
                if (problems.length > 0) {
                    assert.equal(
                        (formatProblems('stack "fuzz"', problems).match(/ Fix: /g) ?? []).length,
                        problems.length,
                    );
                }
            }),
            { numRuns: 300, seed: SEED },
        );
    });
});

/** Any JSON-ish value, of any type: what another language or a YAML file can hand over. */
const anyValue = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.double({ noNaN: false }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 3 }),
);

const ARG_NAMES = [...Object.keys(SETTING_KINDS), ...Object.keys(RESOURCE_ARG_KINDS)].filter((name) => name !== "ssh");

describe("fuzz: component arguments (fast-check)", () => {
    it("never throws, and every problem names an argument path of EtcdClusterArgs", function () {
        this.timeout(10_000);
        const argsOf = fc.dictionary(fc.constantFrom(...ARG_NAMES), anyValue, { maxKeys: 6 });
        const discoveryOf = fc.dictionary(
            fc.constantFrom("protocol", "endpoints", "serviceUrl", "url", "size", "proxy"),
            anyValue,
            { maxKeys: 3 },
        );
        const sshOf = fc.oneof(
            fc.constant(SSH),
            anyValue,
            fc.record({ privateKey: anyValue, bastion: anyValue }, { requiredKeys: [] }),
        );
        fc.assert(
            fc.property(
                argsOf,
                fc.option(discoveryOf),
                sshOf,
                fc.oneof(fc.constant("orders"), fc.string({ maxLength: 10 })),
                (args, discovery, ssh, name) => {
                    const given = { ...args, ...(discovery ? { discovery } : {}), ssh } as unknown as EtcdClusterArgs;
                    const { problems, resolved } = validateClusterArgs(name, given);
                    assert.equal(resolved === undefined, problems.length > 0);
                    for (const problem of problems) {
                        const root = at(problem.setting.split(/[.[/]/), 0, "path segment");
                        assert.ok(
                            [...ARG_NAMES, "ssh", "name"].includes(root),
                            `"${problem.setting}" is no argument path`,
                        );
                        assert.ok(problem.problem.length > 0 && problem.fix.length > 0, problem.setting);
                    }
                },
            ),
            { numRuns: 400, seed: SEED },
        );
    });

    it("a wrongly typed argument is named with its path in the same pass as the other problems", function () {
        this.timeout(10_000);
        const wrong = fc.constantFrom(
            ["mirrorBaseUrl", 443],
            ["subnetIds", "subnet-1"],
            ["clientCidrs", "10.0.0.0/8"],
            ["memberCount", "3"],
            ["tags", ["a"]],
            ["healthTimeoutSeconds", "600"],
        );
        fc.assert(
            fc.property(fc.uniqueArray(wrong, { selector: ([name]) => name, minLength: 1, maxLength: 4 }), (pairs) => {
                const given = { ssh: SSH, vpcId: "vpc-1", ...Object.fromEntries(pairs) } as unknown as EtcdClusterArgs;
                const named = validateClusterArgs("orders", given).problems.map((problem) => problem.setting);
                for (const [name] of pairs) {
                    assert.ok(named.includes(name as string), `${String(name)} not named in ${named.join(", ")}`);
                }
            }),
            { numRuns: 100, seed: SEED },
        );
    });
});
