// Renders Pulumi.yaml from the config table in core/stack-config.ts (test/pulumi-yaml.test.ts checks they agree).
// Usage: ts-node scripts/render-pulumi-yaml.ts > Pulumi.yaml
import { CONFIG_KEYS } from "../core";
import * as yaml from "js-yaml";
const config: Record<string, unknown> = {};
for (const key of CONFIG_KEYS) {
    const entry: Record<string, unknown> = { type: key.type, description: key.description };
    if (key.type === "array") entry.items = { type: "string" };
    if (key.secret) entry.secret = true;
    if (key.default !== undefined) entry.default = key.default;
    config[key.key] = entry;
}
const doc = {
    name: "etcd-aws",
    description:
        "Production-grade etcd clusters on AWS: static, DNS SRV or discovery bootstrap, mutual TLS, validated before deploy.",
    runtime: { name: "nodejs", options: { typescript: true } },
    main: "index.ts",
    stackConfigDir: "stacks",
    config,
};
process.stdout.write(yaml.dump(doc, { lineWidth: 140, quotingType: '"' }));
