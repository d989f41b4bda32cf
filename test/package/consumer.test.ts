import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { MockRun, RecordedResource, runUnderMocks } from "../../plan/mock-engine";
import { compile, consumerWith, packOnce, ROOT } from "./pack";

// What a team writes against the published package: Pulumi's TypeScript template settings,
// typed Args, the subpath entries, and two clusters in one program.
const CONSUMER_TSCONFIG = JSON.stringify({
    compilerOptions: { strict: true, outDir: "bin", target: "es2020", module: "commonjs", moduleResolution: "node", types: ["node"] },
    files: ["index.ts"],
});

const CONSUMER_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster, EtcdClusterArgs } from "etcd-aws";
import type { EtcdSecurityGroupArgs } from "etcd-aws/components";
import { renderSystemdUnit } from "etcd-aws/core";

const config = new pulumi.Config();
const shared: EtcdClusterArgs = {
    memberCount: 3,
    clientCidrs: ["10.0.0.0/16"],
    sshCidrs: ["10.0.100.0/24"],
    ssh: { privateKey: config.requireSecret("sshPrivateKey"), keyName: "shop" },
};
// @ts-expect-error memberCount is a number: the Args are typed, not any.
export const refused: EtcdClusterArgs = { ...shared, memberCount: "three" };
export const ports: EtcdSecurityGroupArgs["ports"] = { client: 2379, peer: 2380, metrics: 2381 };

const orders = new EtcdCluster("orders-etcd", shared);
const payments = new EtcdCluster("payments-etcd", { ...shared, memberCount: 5, bootstrapMode: "dns" });

export const ordersToken = orders.clusterToken;
export const paymentsToken = payments.clusterToken;
export const ordersEndpoints = orders.clientEndpoints;
export const paymentsDomain = payments.domain;
export const unitHasNotify = renderSystemdUnit().includes("Type=notify");
`;

function ofType(run: MockRun, type: string): RecordedResource[] {
    return run.resources.filter((resource) => resource.type === type);
}

describe("the package as another program imports it (npm pack, install, tsc, run under mocks)", () => {
    let run: MockRun;
    let files: string[];

    before(async function () {
        this.timeout(120_000);
        const packed = await packOnce();
        files = packed.files;
        const consumer = consumerWith(packed.tarball, {
            "package.json": JSON.stringify({ name: "shop", private: true, dependencies: { "etcd-aws": `file:${packed.tarball}` } }),
            "tsconfig.json": CONSUMER_TSCONFIG,
            "index.ts": CONSUMER_PROGRAM,
        });
        compile(consumer);
        run = await runUnderMocks({ project: "shop", stack: "prod", config: { sshPrivateKey: "KEY" }, secretConfigKeys: ["sshPrivateKey"] }, () =>
            require(path.join(consumer, "bin", "index.js")),
        );
    });

    it("packs the built library with declarations and the changelog, and no sources, tests or tools", () => {
        assert.ok(files.includes("dist/lib.js") && files.includes("dist/lib.d.ts") && files.includes("dist/components/etcd-cluster.d.ts"));
        assert.ok(files.includes("CHANGELOG.md") && files.includes("package.json") && files.includes("README.md"));
        const unexpected = files.filter((file) => !/^dist\/.+\.(js|d\.ts)$/.test(file) && !["CHANGELOG.md", "package.json", "README.md"].includes(file));
        assert.deepEqual(unexpected, []);
    });

    it("declares main, types and exports that point at files in the tarball", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const targets = [manifest.main, manifest.types, ...Object.values<any>(manifest.exports).flatMap((entry) => (typeof entry === "string" ? [entry] : Object.values(entry)))];
        for (const target of targets.map((t: string) => t.replace(/^\.\//, ""))) {
            assert.ok(target === "package.json" || files.includes(target), `${target} is not in the tarball`);
        }
    });

    it("creates each cluster's members, network, DNS, PKI and commands", () => {
        const instances = ofType(run, "aws:ec2/instance:Instance").map((i) => i.name).sort();
        assert.deepEqual(instances, ["orders-etcd-0", "orders-etcd-1", "orders-etcd-2", ...[0, 1, 2, 3, 4].map((i) => `payments-etcd-${i}`)]);
        assert.equal(ofType(run, "etcd-aws:index:EtcdCluster").length, 2);
        assert.equal(ofType(run, "aws:ec2/securityGroup:SecurityGroup").length, 2);
        assert.equal(ofType(run, "aws:route53/zone:Zone").length, 2);
        assert.equal(ofType(run, "tls:index/selfSignedCert:SelfSignedCert").length, 2);
        assert.equal(ofType(run, "command:remote:Command").filter((c) => c.name.endsWith("-launch")).length, 8);
        assert.equal(run.outputs.unitHasNotify, true);
        assert.equal((run.outputs.ordersEndpoints as string[]).length, 3);
    });

    it("keeps two clusters in one program apart: resource names, cluster tokens, zones and DNS records", () => {
        const urns = run.resources.map((r) => `${r.type}::${r.name}`);
        assert.deepEqual(urns.filter((urn, i) => urns.indexOf(urn) !== i), []);
        assert.notEqual(run.outputs.ordersToken, run.outputs.paymentsToken);
        const zones = ofType(run, "aws:route53/zone:Zone").map((z) => z.inputs.name);
        assert.deepEqual(zones.sort(), ["orders-etcd.etcd.internal", "payments-etcd.etcd.internal"]);
        const records = ofType(run, "aws:route53/record:Record").map((r) => `${r.inputs.zoneId} ${r.inputs.type} ${r.inputs.name}`);
        assert.deepEqual(records.filter((record, i) => records.indexOf(record) !== i), []);
        assert.equal(run.outputs.paymentsDomain, "payments-etcd.etcd.internal");
    });
});
