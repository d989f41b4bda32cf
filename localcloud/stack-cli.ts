// The local stack's command line (scripts/local-cluster.sh up|preview|destroy, dispatched by local/cli.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackCommand, projectConfigTypes, runStackCommand, StackRefusedError, StackUsageError } from "./stack";

export const STACK_USAGE =
    "usage: scripts/local-cluster.sh up|preview|destroy [--stack local|local-<name>] [--set key=value]...";

/** Runs the command; returns the exit status (2: a usage error, printed with the usage; 1: a refused change). */
export async function stackMain(args: string[]): Promise<number> {
    const types = projectConfigTypes(fs.readFileSync(path.resolve(__dirname, "..", "Pulumi.yaml"), "utf8"));
    let command;
    try {
        command = parseStackCommand(args, types);
    } catch (error) {
        if (!(error instanceof StackUsageError)) throw error;
        console.error(`${error.message}\n${STACK_USAGE}`);
        return 2;
    }
    try {
        await runStackCommand(command);
    } catch (error) {
        if (!(error instanceof StackRefusedError)) throw error;
        console.error(error.message);
        return 1;
    }
    return 0;
}
