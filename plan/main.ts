// scripts/plan.sh: `plan.sh <stack>...` prints the plans; `plan.sh --update` rewrites
// plans/<stack>.md for every stack in stacks/ (the snapshots test/plan checks).
// `--running-version <release>` plans the change from a cluster that runs that release.
import * as fs from "fs";
import { parseArgs } from "node:util";
import { LastDeploymentState, planPath, planStack, PLANS_DIR } from "./plan";
import { stackNames } from "./stack-file";

async function update(): Promise<void> {
    fs.mkdirSync(PLANS_DIR, { recursive: true });
    for (const stack of stackNames()) {
        const plan = await planStack(stack);
        const file = planPath(stack);
        const changed = !fs.existsSync(file) || fs.readFileSync(file, "utf8") !== plan;
        fs.writeFileSync(file, plan);
        console.error(`${changed ? "updated" : "unchanged"} ${file}`);
    }
}

async function print(stacks: string[], last: LastDeploymentState): Promise<void> {
    for (const stack of stacks) {
        process.stdout.write(await planStack(stack, {}, last));
    }
}

async function main(args: string[]): Promise<void> {
    const known = stackNames();
    const usage = `usage: scripts/plan.sh [--running-version <release>] <stack>... | --update   (stacks: ${known.join(", ")})`;
    let parsed: { values: { update?: boolean; "running-version"?: string }; positionals: string[] };
    try {
        parsed = parseArgs({
            args,
            options: { update: { type: "boolean" }, "running-version": { type: "string" } },
            allowPositionals: true,
        });
    } catch {
        throw new Error(usage);
    }
    if (parsed.values.update) {
        return update();
    }
    if (parsed.positionals.length === 0) {
        throw new Error(usage);
    }
    const unknown = parsed.positionals.filter((stack) => !known.includes(stack));
    if (unknown.length > 0) {
        throw new Error(`no stack file for ${unknown.join(", ")} (stacks: ${known.join(", ")})`);
    }
    return print(parsed.positionals, { runningVersion: parsed.values["running-version"] });
}

main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
});
