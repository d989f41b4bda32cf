// Test helper: a throwaway Pulumi project for the real engine (scripts/build-pulumi.sh) with the local providers in
// its own PULUMI_HOME's plugin cache, a file backend and a passphrase secrets provider, and a CLI runner.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installLocalProviders } from "../../localcloud/plugins";

const ROOT = path.resolve(__dirname, "..", "..");

/** The CLI the bootstrap builds; tests skip when it is missing. */
export const PULUMI = path.join(ROOT, ".tools", "pulumi", "bin", "pulumi");

export interface PulumiProject {
    directory: string;
    env: NodeJS.ProcessEnv;
    /** Runs the CLI in the project (not blocking: a test's servers may run in this process); its stdout. */
    pulumi(...args: string[]): Promise<string>;
    /** Deletes the project. */
    remove(): void;
}

/** A project `name` whose index.js is `program`, with `env` added to the CLI's environment. */
export function pulumiProject(name: string, program: string, env: NodeJS.ProcessEnv = {}): PulumiProject {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
    const home = path.join(directory, "pulumi-home");
    installLocalProviders(home);
    fs.mkdirSync(path.join(directory, "state"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(directory, "node_modules"));
    fs.writeFileSync(path.join(directory, "Pulumi.yaml"), `name: ${name}\nruntime: nodejs\n`);
    fs.writeFileSync(path.join(directory, "package.json"), `{ "name": "${name}", "main": "index.js" }\n`);
    fs.writeFileSync(path.join(directory, "index.js"), program);
    const fullEnv: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${path.dirname(PULUMI)}:${path.dirname(process.execPath)}:${process.env.PATH}`,
        PULUMI_HOME: home,
        PULUMI_BACKEND_URL: `file://${path.join(directory, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: name,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        ...env,
    };
    const pulumi = (...args: string[]): Promise<string> =>
        new Promise((resolve, reject) => {
            const child = spawn(PULUMI, [...args, "--non-interactive"], {
                cwd: directory,
                env: fullEnv,
                timeout: 120_000,
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
            child.on("error", reject);
            child.on("close", (code) =>
                code === 0
                    ? resolve(stdout)
                    : reject(new Error(`pulumi ${args.join(" ")}: ${code}\n${stdout}\n${stderr}`)),
            );
        });
    return {
        directory,
        env: fullEnv,
        pulumi,
        remove: () => fs.rmSync(directory, { recursive: true, force: true }),
    };
}
