// scripts/plan.sh: `plan.sh <stack>...` prints the plans; `plan.sh --update` rewrites
// plans/<stack>.md for every stack in stacks/ (the snapshots test/plan checks).
import * as fs from "fs";
import { parseArgs } from "node:util";
import { planPath, planStack, PLANS_DIR } from "./plan";
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

async function print(stacks: string[]): Promise<void> {
    for (const stack of stacks) {
        process.stdout.write(await planStack(stack));
    }
}

async function main(args: string[]): Promise<void> {
    const known = stackNames();
    const usage = `usage: scripts/plan.sh <stack>... | --update   (stacks: ${known.join(", ")})`;
    let parsed: { values: { update?: boolean }; positionals: string[] };
    try {
        parsed = parseArgs({ args, options: { update: { type: "boolean" } }, allowPositionals: true });
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
    return print(parsed.positionals);
}

main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
});
