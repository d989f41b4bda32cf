// The plan of one stack: its stack file's configuration, the real program run under Pulumi's
// mock engine with placeholders for everything the cloud would compute, rendered as markdown.
import * as path from "path";
import { runProgram } from "./mock-engine";
import { renderPlan } from "./render";
import { readStackFile, SECRET_PLACEHOLDER, secretStandIn } from "./stack-file";

export const PLANS_DIR = path.resolve(__dirname, "..", "plans");

/** Secret keys the program needs that no stack file holds in clear: set per operator with --secret. */
const OPERATOR_SECRETS = ["sshPrivateKey"];

export function planPath(stack: string): string {
    return path.join(PLANS_DIR, `${stack}.md`);
}

/** What the stack's last deployment left, as the program reads it back. */
export interface LastDeploymentState {
    /** The etcd release the cluster runs (its `etcdVersion` output); undefined: a first deployment. */
    readonly runningVersion?: string;
}

/**
 * Renders the plan of `stack`. `overrides` replace stack file values (raw strings, as in the
 * file), e.g. to see what one changed setting does; secret values never reach the plan. `last`
 * plans the change from a running cluster (a refused version change rejects with its message).
 */
export async function planStack(
    stack: string,
    overrides: Record<string, string> = {},
    last: LastDeploymentState = {},
): Promise<string> {
    const file = readStackFile(stack);
    const secretKeys = [...new Set([...file.secretKeys, ...OPERATOR_SECRETS])];
    const missingSecrets = OPERATOR_SECRETS.filter((key) => !(key in file.config)).map((key) => ({
        key: `etcd-aws:${key}`,
        value: SECRET_PLACEHOLDER,
        secret: true,
    }));
    const entries = [...file.entries, ...missingSecrets].map((entry) => {
        const key = entry.key.replace(/^etcd-aws:/, "");
        const override = Object.hasOwn(overrides, key) ? overrides[key] : undefined;
        return entry.key.startsWith("etcd-aws:") && override !== undefined && !entry.secret
            ? { ...entry, value: override }
            : entry;
    });
    const own = entries
        .filter((entry) => entry.key.startsWith("etcd-aws:"))
        .map((entry) => ({ ...entry, key: entry.key.slice("etcd-aws:".length) }));
    const config = Object.fromEntries(
        own.map((entry) => [entry.key, entry.secret ? secretStandIn(entry.key) : entry.value]),
    );
    const run = await runProgram({
        stack,
        config,
        secretConfigKeys: secretKeys,
        values: "placeholders",
        lastOutputs: last.runningVersion === undefined ? undefined : { etcdVersion: last.runningVersion },
    });
    return renderPlan({ stack, config: entries, run });
}
