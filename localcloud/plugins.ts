// Installs the local providers for a local stack: a wrapper per provider in the plugin cache of that stack's own
// PULUMI_HOME, `$PULUMI_HOME/plugins/resource-<name>-v<version>/pulumi-resource-<name>`, where the engine finds it
// without the "using ... from $PATH" warning and without touching any other stack (issue 12 item 1).
import * as fs from "node:fs";
import * as path from "node:path";

/** The checkout's root (this file is <root>/localcloud/plugins.ts). */
const ROOT = path.resolve(__dirname, "..");

/** The packages served by a local provider, each from localcloud/providers/<name>.ts. */
export const LOCAL_PROVIDERS = ["random", "tls", "command", "aws"] as const;

/** One of {@link LOCAL_PROVIDERS}. */
export type LocalProvider = (typeof LOCAL_PROVIDERS)[number];

/**
 * The version of @pulumi/<name> that package-lock.json pins: the engine asks for a plugin of exactly the version
 * of the SDK package, so the local provider reports and is installed under that version.
 */
export function providerVersion(name: LocalProvider): string {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
        packages: Record<string, { version?: string }>;
    };
    const version = lock.packages[`node_modules/@pulumi/${name}`]?.version;
    if (!version) throw new Error(`package-lock.json pins no @pulumi/${name}`);
    return version;
}

/** The plugin cache directory of one provider under `pulumiHome`. */
export function pluginDirectory(pulumiHome: string, name: LocalProvider): string {
    return path.join(pulumiHome, "plugins", `resource-${name}-v${providerVersion(name)}`);
}

/**
 * Writes the wrapper of every local provider into `pulumiHome`'s plugin cache (idempotent). The wrapper runs the
 * TypeScript source with this Node and ts-node (transpile only: tsc checks the sources in the test command).
 */
export function installLocalProviders(pulumiHome: string): string[] {
    return LOCAL_PROVIDERS.map((name) => {
        const directory = pluginDirectory(pulumiHome, name);
        fs.mkdirSync(directory, { recursive: true });
        const wrapper = path.join(directory, `pulumi-resource-${name}`);
        const script = [
            "#!/bin/sh",
            `# Local ${name} provider of etcd-aws (written by localcloud/plugins.ts).`,
            `export TS_NODE_PROJECT='${path.join(ROOT, "tsconfig.json")}' TS_NODE_TRANSPILE_ONLY=true`,
            `exec '${process.execPath}' -r '${path.join(ROOT, "node_modules", "ts-node", "register")}' \\`,
            `    '${path.join(ROOT, "localcloud", "providers", `${name}.ts`)}' "$@"`,
            "",
        ].join("\n");
        fs.writeFileSync(wrapper, script, { mode: 0o755 });
        return wrapper;
    });
}
