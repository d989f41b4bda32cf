import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { MockRun, RecordedResource, runUnderMocks } from "../../plan/mock-engine";
import { compile, consumerWith, packOnce, ROOT } from "./pack";
import { group } from "../helpers/elements";

// The consumer: the README's example program as index.ts, and typing.ts for what the README
// promises about types: typed Args (a wrong type does not compile) and the subpath entries,
// compiled with the settings of Pulumi's TypeScript template.
const CONSUMER_TSCONFIG = JSON.stringify({
    compilerOptions: {
        strict: true,
        outDir: "bin",
        target: "es2020",
        module: "commonjs",
        moduleResolution: "node",
        types: ["node"],
    },
    files: ["index.ts", "typing.ts"],
});

const TYPING_CHECKS = `
import { EtcdClusterArgs } from "etcd-aws";
import type { EtcdSecurityGroupArgs } from "etcd-aws/components";
import { renderSystemdUnit } from "etcd-aws/core";

// @ts-expect-error memberCount is a number: the Args are typed, not any.
export const refused: EtcdClusterArgs = { memberCount: "three", ssh: { privateKey: "key" } };
export const ports: EtcdSecurityGroupArgs["ports"] = { client: 2379, peer: 2380, metrics: 2381 };
export const unitHasNotify = renderSystemdUnit().includes("Type=notify");
`;

/** The first TypeScript example under the README's "Using the package" heading. */
function readmeProgram(): string {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Using the package in your own program"));
    const example = /```ts\n([\s\S]*?)```/.exec(section);
    return group(example, 1, "TypeScript example in the README's package section");
}

function ofType(run: MockRun, type: string): RecordedResource[] {
    return run.resources.filter((resource) => resource.type === type);
}

describe("the package as another program imports it (npm pack, install, tsc, the README's program under mocks)", () => {
    let run: MockRun;
    let files: string[];

    before(async function () {
        this.timeout(120_000);
        const packed = await packOnce();
        files = packed.files;
        const consumer = consumerWith(packed.tarball, {
            "tsconfig.json": CONSUMER_TSCONFIG,
            "index.ts": readmeProgram(),
            "typing.ts": TYPING_CHECKS,
        });
        compile(consumer);
        run = await runUnderMocks(
            {
                project: "shop",
                stack: "prod",
                // The README's program pins the bastion's host key (any valid OpenSSH public key line).
                config: {
                    sshPrivateKey: "KEY",
                    bastionHostKey:
                        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtCKE4Kf5qLRMFxrnPZB4zpstyTLxGnOLm4g91sc7XO bastion-prod",
                },
                secretConfigKeys: ["sshPrivateKey"],
            },
            () => ({
                // eslint-disable-next-line @typescript-eslint/no-require-imports -- the consumer's compiled program, built at run time in a temporary directory
                ...require(path.join(consumer, "bin", "index.js")),
                // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
                ...require(path.join(consumer, "bin", "typing.js")),
            }),
        );
    });

    it("packs the built library with declarations, the host scripts it renders from and the changelog, and no sources, tests or tools", () => {
        assert.ok(
            files.includes("dist/lib.js") &&
                files.includes("dist/lib.d.ts") &&
                files.includes("dist/components/etcd-cluster.d.ts"),
        );
        assert.ok(files.includes("CHANGELOG.md") && files.includes("package.json") && files.includes("README.md"));
        assert.ok(
            files.includes("host/etcd-aws-launch.sh") &&
                files.includes("host/lib/membership.sh") &&
                files.includes("host/lib/etcd_json.py"),
        );
        const hostScript = /^host\/(lib\/)?[\w-]+\.(sh|py)$/;
        const unexpected = files.filter(
            (file) =>
                !/^dist\/.+\.(js|d\.ts)$/.test(file) &&
                !hostScript.test(file) &&
                !["CHANGELOG.md", "package.json", "README.md"].includes(file),
        );
        assert.deepEqual(unexpected, []);
    });

    it("declares main, types and exports that point at files in the tarball", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
            main: string;
            types: string;
            exports: Record<string, string | Record<string, string>>;
        };
        const targets = [
            manifest.main,
            manifest.types,
            ...Object.values(manifest.exports).flatMap((entry) =>
                typeof entry === "string" ? [entry] : Object.values(entry),
            ),
        ];
        for (const target of targets.map((t) => t.replace(/^\.\//, ""))) {
            assert.ok(target === "package.json" || files.includes(target), `${target} is not in the tarball`);
        }
    });

    it("creates each cluster's members, network, DNS, PKI and commands", () => {
        const instances = ofType(run, "aws:ec2/instance:Instance")
            .map((i) => i.name)
            .sort();
        assert.deepEqual(instances, [
            "orders-etcd-0",
            "orders-etcd-1",
            "orders-etcd-2",
            ...[0, 1, 2, 3, 4].map((i) => `payments-etcd-${i}`),
        ]);
        assert.equal(ofType(run, "etcd-aws:index:EtcdCluster").length, 2);
        assert.equal(ofType(run, "aws:ec2/securityGroup:SecurityGroup").length, 2);
        assert.equal(ofType(run, "aws:route53/zone:Zone").length, 2);
        assert.equal(ofType(run, "tls:index/selfSignedCert:SelfSignedCert").length, 2);
        assert.equal(ofType(run, "command:remote:Command").filter((c) => c.name.endsWith("-launch")).length, 8);
        assert.equal(run.outputs.unitHasNotify, true);
        assert.equal((run.outputs.ordersEndpoints as string[]).length, 3);
        assert.equal((run.outputs.paymentsEndpoints as string[]).length, 5);
    });

    it("keeps two clusters in one program apart: resource names, cluster tokens, zones and DNS records", () => {
        const urns = run.resources.map((r) => `${r.type}::${r.name}`);
        assert.deepEqual(
            urns.filter((urn, i) => urns.indexOf(urn) !== i),
            [],
        );
        const tokens = ofType(run, "command:remote:Command")
            .filter((command) => command.name.endsWith("-launch"))
            .map((command) => /^ETCD_INITIAL_CLUSTER_TOKEN=(.*)$/m.exec(command.inputs.stdin)?.[1]);
        assert.deepEqual([...new Set(tokens)].sort(), ["shop-prod-orders-etcd", "shop-prod-payments-etcd"]);
        const zones = ofType(run, "aws:route53/zone:Zone").map((z) => z.inputs.name);
        assert.deepEqual(zones.sort(), ["orders-etcd.etcd.internal", "payments-etcd.etcd.internal"]);
        const records = ofType(run, "aws:route53/record:Record").map(
            (r) => `${r.inputs.zoneId} ${r.inputs.type} ${r.inputs.name}`,
        );
        assert.deepEqual(
            records.filter((record, i) => records.indexOf(record) !== i),
            [],
        );
    });
});
