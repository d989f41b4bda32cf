import { strict as assert } from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental/provider";
import type { PackageSpec, Property, Resource } from "@pulumi/pulumi/provider/experimental/schema";
import { packOnce, ROOT } from "./pack";

const TOKEN = "etcd-aws:index:EtcdCluster";

/** The entry `name` of a schema map; fails the test if there is none. */
function entry<T>(map: Record<string, T> | undefined, name: string): T {
    const found = map?.[name];
    assert.ok(found, `schema has no ${name}`);
    return found;
}

/** The `$ref` of a property, if it is a reference. */
function refOf(property: Property): string | undefined {
    return "$ref" in property ? property.$ref : undefined;
}

/** The `type` of a property, if it is not a reference. */
function typeOf(property: Property): string | undefined {
    return "type" in property ? property.type : undefined;
}

/** Every `$ref` in a schema fragment. */
function refs(value: unknown): string[] {
    if (Array.isArray(value)) {
        return value.flatMap(refs);
    }
    if (value && typeof value === "object") {
        return Object.entries(value).flatMap(([key, item]) => (key === "$ref" ? [item as string] : refs(item)));
    }
    return [];
}

/** Object types (the resource and each named type) list only required names they declare. */
function undeclaredRequired(
    objects: Record<
        string,
        { properties?: object; inputProperties?: object; required?: string[]; requiredInputs?: string[] }
    >,
): string[] {
    return Object.entries(objects).flatMap(([token, object]) => [
        ...(object.required ?? [])
            .filter((name) => !(name in (object.properties ?? {})))
            .map((name) => `${token}.${name}`),
        ...(object.requiredInputs ?? [])
            .filter((name) => !(name in (object.inputProperties ?? {})))
            .map((name) => `${token} input ${name}`),
    ]);
}

// What `pulumi package add <repo>` does, without the CLI: load the package's main as the
// plugin host does (require of the directory), collect its component classes, and let the
// SDK's ComponentProvider infer the schema from the TypeScript sources.
describe("cross-language schema (PulumiPlugin.yaml, the SDK's component analyzer)", () => {
    let components: ReturnType<typeof getPulumiComponents>;
    let schema: PackageSpec;
    let cluster: Resource;

    before(async function () {
        this.timeout(120_000);
        await packOnce(); // builds dist/, which package.json main points at
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's main as the plugin host loads it (the built dist/), not the sources
        components = getPulumiComponents(require(ROOT));
        schema = JSON.parse(
            await new ComponentProvider({ name: "etcd-aws", dirname: ROOT, components }).getSchema(),
        ) as PackageSpec;
        cluster = entry(schema.resources, TOKEN);
    });

    it("declares a nodejs plugin whose main exports exactly one component, EtcdCluster", () => {
        assert.deepEqual(yaml.load(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8")), {
            runtime: { name: "nodejs", options: { typescript: false } },
        });
        assert.deepEqual(
            components.map((component) => component.name),
            ["EtcdCluster"],
        );
    });

    it("infers etcd-aws:index:EtcdCluster with the package's name, version and the class's description", () => {
        assert.equal(schema.name, "etcd-aws");
        const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
        assert.equal(schema.version, manifest.version);
        assert.deepEqual(Object.keys(schema.resources), [TOKEN]);
        assert.equal(cluster.isComponent, true);
        assert.match(cluster.description ?? "", /^A production etcd cluster on EC2/);
    });

    it("takes every documented input, with types and descriptions from the doc comments; ssh is the one required", () => {
        const inputs = cluster.inputProperties;
        for (const name of [
            "memberCount",
            "etcdVersion",
            "bootstrapMode",
            "tls",
            "clientCidrs",
            "extraFlags",
            "discovery",
            "vpcId",
            "subnetIds",
            "ssh",
            "tags",
        ]) {
            assert.ok((entry(inputs, name).description?.length ?? 0) > 10, `description of ${name}`);
        }
        assert.equal(typeOf(entry(inputs, "memberCount")), "number");
        assert.equal(typeOf(entry(inputs, "bootstrapMode")), "string");
        assert.deepEqual(entry(inputs, "clientCidrs").items, { type: "string", plain: true });
        assert.deepEqual(entry(inputs, "extraFlags").additionalProperties, { type: "string", plain: true });
        assert.equal(refOf(entry(inputs, "ssh")), "#/types/etcd-aws:index:SshSettings");
        assert.deepEqual(cluster.requiredInputs, ["ssh"]);
        const ssh = entry(schema.types, "etcd-aws:index:SshSettings");
        assert.deepEqual(ssh.required, ["privateKey"]);
        assert.equal(refOf(entry(ssh.properties, "bastion")), "#/types/etcd-aws:index:BastionSettings");
    });

    it("outputs the class's public properties (those the README documents among them), all required", () => {
        const documented = [
            "clientEndpoints",
            "memberNames",
            "memberPrivateIps",
            "instanceIds",
            "securityGroupId",
            "zoneId",
            "domain",
            "clusterToken",
            "etcdVersion",
            "bootstrapMode",
            "discoveryToken",
            "caCertPem",
            "clientCertPem",
            "clientKeyPem",
        ];
        const properties = cluster.properties ?? {};
        assert.deepEqual(
            documented.filter((name) => !(name in properties)),
            [],
        );
        assert.deepEqual([...(cluster.required ?? [])].sort(), Object.keys(properties).sort());
        assert.deepEqual(entry(properties, "clientEndpoints").items, { type: "string" });
    });

    it("is a consistent package schema: every reference resolves and every required name is declared", () => {
        const known = new Set(Object.keys(schema.types).map((token) => `#/types/${token}`));
        assert.deepEqual(
            refs(schema).filter((ref) => !known.has(ref)),
            [],
        );
        assert.deepEqual(undeclaredRequired({ ...schema.resources, ...schema.types }), []);
        for (const token of [...Object.keys(schema.resources), ...Object.keys(schema.types)]) {
            assert.match(token, /^etcd-aws:index:[A-Z][A-Za-z0-9]*$/);
        }
    });
});
