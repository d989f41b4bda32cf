// The settings an operator would want stopped or warned about, through the public interface
// (validateClusterArgs for component users, the program for stack users): each message names
// the setting the user typed and a fix, and the fix, applied, validates without that message.
import { strict as assert } from "assert";
import { BastionSettings, EtcdClusterArgs, validateClusterArgs, ValidateClusterArgsOptions } from "../../components";
import { runProgram } from "../../plan/mock-engine";
import { readStackFile } from "../../plan/stack-file";
import { runCluster, SSH } from "../helpers/cluster";
import { at } from "../helpers/elements";

interface Row {
    readonly name: string;
    readonly args: Partial<EtcdClusterArgs>;
    readonly options?: ValidateClusterArgsOptions;
    /** The problem's setting, or undefined for a warning. */
    readonly setting?: string;
    /** Text of the problem (or of the warning). */
    readonly says: string;
    /** Text of the fix (for a warning: of the advice in it). */
    readonly fix: string;
    /** The arguments with that fix applied (and the cluster name, if the fix renames it). */
    readonly fixed: Partial<EtcdClusterArgs>;
    readonly fixedName?: string;
}

const VPC = { vpcId: "vpc-0123456789abcdef0" };
const BASTION_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNCbJQUsmuK6WdW1RyQ3PPsWJ54NKItPJX+S+Q5JDDc bastion";
/** Members behind a bastion: its host key and the private members' internet path, as required. */
const BEHIND_BASTION = {
    ssh: { ...SSH, bastion: { host: "bastion.example.com", hostKey: BASTION_HOST_KEY } },
    privateEgress: "nat",
};
const subnets = (count: number) => Array.from({ length: count }, (_, i) => `subnet-${i}`);
const flags = (extraFlags: Record<string, string>, etcdVersion = "3.6.16"): Partial<EtcdClusterArgs> => ({
    extraFlags,
    etcdVersion,
});

const REFUSED: readonly Row[] = [
    // access open to the world, in any form
    {
        name: "0.0.0.0/0 on the client port",
        args: { clientCidrs: ["0.0.0.0/0"] },
        setting: "clientCidrs[0]",
        says: "whole internet",
        fix: "list only the networks",
        fixed: { clientCidrs: ["10.0.0.0/16"] },
    },
    {
        name: "an IPv6 network on SSH",
        args: { sshCidrs: ["2001:db8::/32"] },
        setting: "sshCidrs[0]",
        says: "is IPv6; the rules take IPv4 CIDRs only",
        fix: "give an IPv4 CIDR",
        fixed: { sshCidrs: ["10.0.0.0/16"] },
    },
    {
        name: "::/0 on SSH",
        args: { sshCidrs: ["::/0"] },
        setting: "sshCidrs[0]",
        says: "whole IPv6 internet",
        fix: "e.g. 10.0.0.0/16",
        fixed: { sshCidrs: ["10.0.0.0/16"] },
    },
    {
        name: "every /8 of the address space together on metrics",
        args: { monitoringCidrs: Array.from({ length: 256 }, (_, i) => `${i}.0.0.0/8`) },
        setting: "monitoringCidrs",
        says: "together these CIDRs admit every IPv4 address",
        fix: "list only the networks",
        fixed: { monitoringCidrs: ["10.0.0.0/16"] },
    },
    {
        name: "0.0.0.0/1 and 128.0.0.0/1 (each half the internet)",
        args: { clientCidrs: ["0.0.0.0/1", "128.0.0.0/1"] },
        setting: "clientCidrs[1]",
        says: "admits 2,147,483,648 addresses, most of them on the internet",
        fix: "list only the networks",
        fixed: { clientCidrs: ["10.0.0.0/16"] },
    },
    {
        name: "a /2 (a quarter of the internet)",
        args: { clientCidrs: ["64.0.0.0/2"] },
        setting: "clientCidrs[0]",
        says: "most of them on the internet",
        fix: "allowPublicAccess: true",
        fixed: { clientCidrs: ["10.0.0.0/8"] },
    },
    // flags that turn off etcd's own safety checks
    ...(
        [
            ["unsafe-no-fsync", "true", "3.6.16", "acknowledged writes"],
            ["unsafe-no-fsync", "", "3.6.16", "acknowledged writes"],
            ["force-new-cluster", "true", "3.6.16", "cluster of one"],
            ["strict-reconfig-check", "false", "3.5.33", "quorum"],
            ["peer-skip-client-san-verification", "true", "3.6.16", "whatever address"],
            ["experimental-peer-skip-client-san-verification", "true", "3.5.33", "whatever address"],
            ["auto-tls", "true", "3.6.16", "self-signed"],
            ["peer-auto-tls", "true", "3.7.3", "anyone could join"],
            ["discovery-insecure-skip-tls-verify", "true", "3.6.16", "any discovery server"],
            ["tls-min-version", "TLS1.1", "3.6.16", "TLS 1.0 and 1.1"],
        ] as const
    ).map(([flag, value, version, says]) => ({
        name: `extraFlags ${flag}=${value} on ${version}`,
        args: flags({ [flag]: value }, version),
        setting: `extraFlags.${flag}`,
        says,
        fix: `remove ${flag} from extraFlags`,
        fixed: flags({}, version),
    })),
    // releases that do not exist
    {
        name: "etcd 3.6.99",
        args: { etcdVersion: "3.6.99" },
        setting: "etcdVersion",
        says: "newest 3.6 release this package knows is 3.6.16",
        fix: 'use "3.6.16"',
        fixed: { etcdVersion: "3.6.16" },
    },
    {
        name: "etcd 3.4.46",
        args: { etcdVersion: "3.4.46", tls: true },
        setting: "etcdVersion",
        says: "3.4.45",
        fix: 'use "3.4.45"',
        fixed: { etcdVersion: "3.4.45", tls: true },
    },
    // wrong types in component arguments
    {
        name: "memberCount as a string",
        args: { memberCount: "3" as unknown as number },
        setting: "memberCount",
        says: "is a string where a number belongs",
        fix: "e.g. 3",
        fixed: { memberCount: 3 },
    },
    {
        name: "a number where the mirror URL belongs",
        args: { mirrorBaseUrl: 443 as unknown as string },
        setting: "mirrorBaseUrl",
        says: "is a number where a string belongs",
        fix: 'e.g. "https://github.com/etcd-io/etcd/releases/download"',
        fixed: { mirrorBaseUrl: "https://github.com/etcd-io/etcd/releases/download" },
    },
    {
        name: "one subnet ID as a string instead of a list",
        args: { ...VPC, subnetIds: "subnet-0abc" as unknown as string[] },
        setting: "subnetIds",
        says: "is a string where a list of strings belongs",
        fix: 'e.g. ["subnet-0123456789abcdef0"]',
        fixed: { ...VPC, subnetIds: ["subnet-0123456789abcdef0"] },
    },
    {
        name: "discovery endpoints as one string",
        args: { bootstrapMode: "discovery", discovery: { endpoints: "http://10.0.0.5:2379" as unknown as string[] } },
        setting: "discovery.endpoints",
        says: "is a string where a list of strings belongs",
        fix: 'e.g. ["http://10.0.0.5:2379"]',
        fixed: { bootstrapMode: "discovery", discovery: { endpoints: ["http://10.0.0.5:2379"] } },
    },
    {
        name: "a list item that is a number",
        args: { clientCidrs: [10 as unknown as string] },
        setting: "clientCidrs[0]",
        says: "is a number where a string belongs",
        fix: "or remove it",
        fixed: {},
    },
    {
        name: "a tag value that is a number",
        args: { tags: { team: 5 as unknown as string } },
        setting: "tags.team",
        says: "is a number where a string belongs",
        fix: 'e.g. {"team":"storage"}',
        fixed: { tags: { team: "storage" } },
    },
    {
        name: "reservedClusterTokens as one string",
        args: { reservedClusterTokens: "orders-old" as unknown as string[] },
        setting: "reservedClusterTokens",
        says: "a list of strings",
        fix: "or remove it",
        fixed: {},
    },
    {
        name: "the bastion port as a string",
        args: {
            ...BEHIND_BASTION,
            ssh: { ...SSH, bastion: { ...BEHIND_BASTION.ssh.bastion, port: "22" as unknown as number } },
        },
        setting: "ssh.bastion.port",
        says: "is a string where a number belongs",
        fix: "e.g. 22",
        fixed: { ...BEHIND_BASTION, ssh: { ...SSH, bastion: { ...BEHIND_BASTION.ssh.bastion, port: 22 } } },
    },
    // members behind a bastion: its host key pinned, their internet path stated
    {
        name: "a bastion without its host key",
        args: { ...BEHIND_BASTION, ssh: { ...SSH, bastion: { host: "bastion.example.com" } as BastionSettings } },
        setting: "ssh.bastion.hostKey",
        says: "is required with a bastion",
        fix: "ssh-keyscan -t ed25519",
        fixed: BEHIND_BASTION,
    },
    ...(
        [
            ["a known_hosts line", `bastion.example.com ${BASTION_HOST_KEY}`, "drop the host name"],
            ["a truncated key", BASTION_HOST_KEY.slice(0, 40), "cut short or mistyped"],
            ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", "does not start with a key type"],
            ["two lines", `${BASTION_HOST_KEY}\n${BASTION_HOST_KEY}`, "more than one line"],
        ] as const
    ).map(([what, hostKey, says]) => ({
        name: `${what} as the bastion's host key`,
        args: { ...BEHIND_BASTION, ssh: { ...SSH, bastion: { host: "bastion.example.com", hostKey } } },
        setting: "ssh.bastion.hostKey",
        says,
        fix: "ssh-ed25519 AAAA",
        fixed: BEHIND_BASTION,
    })),
    {
        name: "members behind a bastion without an internet path",
        args: { ...BEHIND_BASTION, privateEgress: undefined },
        setting: "privateEgress",
        says: "only through a NAT gateway or a mirror inside the VPC",
        fix: 'set privateEgress to "nat"',
        fixed: BEHIND_BASTION,
    },
    {
        name: "an unknown internet path",
        args: { ...BEHIND_BASTION, privateEgress: "proxy" },
        setting: "privateEgress",
        says: 'is not one of "nat" or "mirror"',
        fix: '"nat" when the subnets route to a NAT gateway',
        fixed: BEHIND_BASTION,
    },
    {
        name: "a mirror inside the VPC that is GitHub",
        args: { ...BEHIND_BASTION, privateEgress: "mirror" },
        setting: "privateEgress",
        says: "mirrorBaseUrl is the public GitHub default",
        fix: "set mirrorBaseUrl to the mirror inside the VPC",
        fixed: {
            ...BEHIND_BASTION,
            privateEgress: "mirror",
            mirrorBaseUrl: "https://mirror.internal.example.com/etcd",
        },
    },
    {
        name: "an internet path for public members",
        args: { privateEgress: "nat" },
        setting: "privateEgress",
        says: "applies only to members behind a bastion",
        fix: "remove privateEgress",
        fixed: {},
    },
    // two clusters with one name
    {
        name: "a second cluster named like the first",
        args: {},
        options: { namesInUse: ["orders"] },
        setting: "name",
        says: 'another cluster in this program is already named "orders"',
        fix: 'e.g. "orders-2"',
        fixed: {},
        fixedName: "orders-2",
    },
];

const WARNED: readonly Row[] = [
    ...["t3.micro", "t3.nano", "t3.small", "t4g.small", "t2.large"].map((instanceType) => ({
        name: `instance type ${instanceType}`,
        args: { instanceType },
        says: instanceType.startsWith("t2") ? "CPU credits" : "hardware guide",
        fix: 'use "t3.medium" or larger',
        fixed: { instanceType: "t3.medium" },
    })),
    {
        name: "five members in three subnets",
        args: { ...VPC, memberCount: 5, subnetIds: subnets(3) },
        says: "put orders-0, orders-3 in one subnet; losing its zone takes 2 of 5 members and the rest keep quorum",
        fix: "List 5 subnets in different availability zones",
        fixed: { ...VPC, memberCount: 5, subnetIds: subnets(5) },
    },
    {
        name: "three members in one subnet",
        args: { ...VPC, subnetIds: subnets(1) },
        says: "losing its zone takes 3 of 3 members and the cluster loses its quorum",
        fix: "List 3 subnets",
        fixed: { ...VPC, subnetIds: subnets(3) },
    },
    {
        name: "plaintext with five members",
        args: { tls: false, memberCount: 5 },
        says: "tls: false in a production-shaped cluster (5 members)",
        fix: "set tls: true",
        fixed: { tls: true, memberCount: 5 },
    },
    {
        name: "plaintext behind a bastion",
        args: { ...BEHIND_BASTION, tls: false },
        says: "(members behind a bastion)",
        fix: "set tls: true",
        fixed: { ...BEHIND_BASTION, tls: true },
    },
    {
        name: "the initial corruption check turned off",
        args: flags({ "experimental-initial-corrupt-check": "false" }),
        says: "will not compare their data",
        fix: "remove it",
        fixed: flags({}),
    },
    {
        name: "corruption checks off in the feature gates",
        args: flags({ "feature-gates": "InitialCorruptCheck=false" }, "3.7.3"),
        says: "corruption check",
        fix: "remove it",
        fixed: flags({}, "3.7.3"),
    },
    {
        name: "pprof on the client port",
        args: flags({ "enable-pprof": "true" }),
        says: "profiling data",
        fix: "remove it",
        fixed: flags({}),
    },
    {
        name: "0.0.0.0/0 allowed on purpose",
        args: { allowPublicAccess: true, clientCidrs: ["0.0.0.0/0"] },
        says: "clientCidrs lets the internet reach",
        fix: "anyone can try",
        fixed: { clientCidrs: ["10.0.0.0/16"] },
    },
];

function validate(args: Partial<EtcdClusterArgs>, name = "orders", options: ValidateClusterArgsOptions = {}) {
    return validateClusterArgs(name, { ssh: SSH, ...args } as EtcdClusterArgs, options);
}

describe("validation that thinks like an operator (validateClusterArgs)", () => {
    for (const row of REFUSED) {
        it(`refuses ${row.name}, naming ${row.setting}; the fix validates`, () => {
            const { problems } = validate(row.args, "orders", row.options);
            const problem = problems.find((p) => p.setting === row.setting);
            assert.ok(problem, `no problem for ${row.setting} in ${JSON.stringify(problems)}`);
            assert.ok(problem.problem.includes(row.says), problem.problem);
            assert.ok(problem.fix.includes(row.fix), problem.fix);
            const fixed = validate(row.fixed, row.fixedName, row.options);
            assert.deepEqual(fixed.problems, []);
            assert.ok(fixed.resolved);
        });
    }

    for (const row of WARNED) {
        it(`warns about ${row.name}, saying what to do; doing it validates without the warning`, () => {
            const { problems, warnings } = validate(row.args);
            assert.deepEqual(problems, []);
            const warning = warnings.find((w) => w.includes(row.says));
            assert.ok(warning, `no warning saying "${row.says}" in ${JSON.stringify(warnings)}`);
            assert.ok(warning.includes(row.fix), warning);
            const fixed = validate(row.fixed);
            assert.deepEqual(fixed.problems, []);
            assert.deepEqual(fixed.warnings, []);
        });
    }

    it("accepts Xen instance types (m4, c4, r4; the install finds their data volume as /dev/xvdf) without a warning", () => {
        for (const instanceType of ["m4.large", "c4.xlarge", "r4.large", "t2.xlarge"]) {
            const { problems, warnings, resolved } = validate({ instanceType });
            assert.deepEqual(problems, [], instanceType);
            assert.equal(resolved?.instanceType, instanceType);
            // t2 keeps its CPU-credit warning, which is about etcd's heartbeats, not the device.
            assert.deepEqual(
                warnings.filter((w) => !w.includes("CPU credits")),
                [],
                instanceType,
            );
        }
    });

    it("refuses arguments that are not an object, naming them; an object validates", () => {
        const { problems } = validateClusterArgs("orders", "memberCount=3" as unknown as EtcdClusterArgs);
        assert.deepEqual(problems[0], {
            setting: "args",
            value: "memberCount=3",
            problem: "is string, not an object",
            fix: "pass an object of settings",
        });
        assert.deepEqual(validate({}).problems, []);
    });

    it("the component logs its warnings through pulumi.log.warn", async () => {
        const run = await runCluster({ instanceType: "t3.micro", ...VPC, subnetIds: subnets(1) });
        assert.equal(run.warnings.length, 2);
        assert.match(at(run.warnings, 0, "warning"), /^instanceType: t3\.micro is below/);
        assert.match(
            at(run.warnings, 1, "warning"),
            /^subnetIds: 3 members in 1 subnet put test-etcd-0, test-etcd-1, test-etcd-2 in one subnet/,
        );
    });

    it("warns at deploy time when the default VPC has fewer default subnets (zones) than members", async () => {
        const run = await runCluster({ memberCount: 5 });
        assert.deepEqual(run.warnings, [
            "the default VPC's default subnets: 5 members in 3 subnets put test-etcd-0, test-etcd-3 in one subnet; " +
                "losing its zone takes 2 of 5 members and the rest keep quorum. List 5 subnets in different availability zones",
        ]);
        assert.deepEqual((await runCluster({})).warnings, []);
    });

    it("warns at deploy time when members in different subnets share an availability zone, and not otherwise", async () => {
        const shared = await runCluster({ ...VPC, subnetIds: ["subnet-zonea-1", "subnet-zonea-2", "subnet-zoneb-1"] });
        assert.deepEqual(shared.warnings, [
            "subnetIds: the subnets of test-etcd-0, test-etcd-1 are all in eu-west-1a; losing its zone takes 2 of 3 members and the cluster loses its quorum. " +
                "List subnets in 3 different availability zones",
        ]);
        const spread = await runCluster({ ...VPC, subnetIds: ["subnet-zonea-1", "subnet-zoneb-1", "subnet-zonec-1"] });
        assert.deepEqual(spread.warnings, []);
    });

    it("a second cluster of one name is refused before any of its resources, naming the name and not the token", async () => {
        const { runClusters } = await import("../helpers/cluster");
        const error = await runClusters([
            { name: "orders", args: {} },
            { name: "orders", args: {} },
        ]).then(
            () => undefined,
            (thrown: Error) => thrown,
        );
        assert.ok(error, "the second cluster was refused");
        assert.match(
            error.message,
            /^etcd cluster "orders": 1 problem in the configuration, no resource of this cluster was created:/,
        );
        assert.match(error.message, /name = "orders": another cluster in this program is already named "orders"/);
        assert.doesNotMatch(error.message, /clusterToken/);
    });
});

describe("validation through the program (stack keys)", () => {
    const runStack = (stack: string, overrides: Record<string, string | undefined>) => {
        const config = {
            sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----",
            ...readStackFile(stack).config,
            ...overrides,
        };
        const given = Object.fromEntries(
            Object.entries(config).filter((entry): entry is [string, string] => entry[1] !== undefined),
        );
        return runProgram({ stack, config: given, secretConfigKeys: ["sshPrivateKey"] });
    };
    const refusal = (stack: string, overrides: Record<string, string | undefined>) =>
        runStack(stack, overrides).then(
            () => assert.fail("expected the stack to be refused"),
            (error: Error) => error.message,
        );

    it("refuses an unknown key, suggesting the nearest; renamed, the stack deploys", async () => {
        const message = await refusal("dev", { tsl: "true", memberCont: "5" });
        assert.match(
            message,
            /etcd-aws:tsl = \(not set\): is not a setting of this program, so its value would be ignored\. Fix: rename it to etcd-aws:tls if that is what you meant, or remove it\./,
        );
        assert.match(message, /etcd-aws:memberCont = \(not set\): .* rename it to etcd-aws:memberCount /);
        const run = await runStack("dev", { tls: "true", memberCount: "5" });
        assert.equal(run.outputs.clientEndpoints instanceof Array && run.outputs.clientEndpoints.length, 5);
    });

    it("names the discovery keys the stack set, not the component's discovery object; the fix deploys", async () => {
        const message = await refusal("dev", { discoveryServiceUrl: "http://10.0.0.5:2379/v2/keys/_etcd/registry" });
        assert.match(
            message,
            / {2}1\. discoveryServiceUrl = "http:\/\/10\.0\.0\.5:2379\/v2\/keys\/_etcd\/registry": discovery settings conflict/,
        );
        assert.match(message, /Fix: remove the discovery settings, or set bootstrapMode to "discovery"\./);
        const run = await runStack("dev", { discoveryServiceUrl: undefined });
        assert.ok(run.resources.length > 0);
    });

    it("names v2 discovery's keys as the stack spells them (discoveryProtocol, discoveryUrl, discoverySize)", async () => {
        const message = await refusal("staging", {
            discoveryEndpoints: undefined,
            etcdVersion: "3.5.33",
            discoveryUrl: "https://discovery.example.com/abc",
        });
        assert.match(message, /discoverySize = \(not set\): a ready discovery URL was given without the size/);
        assert.match(message, /Fix: set discoverySize to the size the service registered/);
        assert.doesNotMatch(message, /discovery\.(size|url|protocol|serviceUrl)/);
        await runStack("staging", {
            discoveryEndpoints: undefined,
            etcdVersion: "3.5.33",
            discoveryUrl: "https://discovery.example.com/abc",
            discoverySize: "3",
        });
    });

    it("calls the cluster's name clusterName", async () => {
        const message = await refusal("dev", { clusterName: "Dev_Etcd" });
        assert.match(message, / {2}1\. clusterName = "Dev_Etcd": cluster names become member names/);
    });

    it("warns through the program in the stack's key names", async () => {
        const run = await runStack("dev", { instanceType: "t2.medium" });
        assert.deepEqual(
            run.warnings.map((w) => w.split(":")[0]),
            ["instanceType"],
        );
    });
});
