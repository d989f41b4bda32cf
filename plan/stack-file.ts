// A stack file (stacks/Pulumi.<stack>.yaml) read the way the Pulumi CLI hands its values to
// the program: strings, with lists and objects as JSON.
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { CREDENTIAL_KEYS } from "../core/stack-config";

const ROOT = path.resolve(__dirname, "..");
const PROJECT = "etcd-aws";

export interface StackFile {
    /** Every key as written, e.g. "aws:region", "etcd-aws:memberCount", with its raw value. */
    readonly entries: { key: string; value: string; secret: boolean }[];
    /** The project's keys without the "etcd-aws:" prefix, as runProgram takes them. */
    readonly config: Record<string, string>;
    /** Project keys whose value is encrypted (`secure:`); the plan cannot and must not decrypt them. */
    readonly secretKeys: string[];
}

export const SECRET_PLACEHOLDER = "<secret>";

/**
 * What the program runs with for an encrypted key the plan cannot read: a URL for the keys that
 * must be one (so the stack validates, as it does with the real value), else the placeholder.
 * The cluster keeps whatever these reach secret, so the plan shows `<secret>` there.
 */
export function secretStandIn(key: string): string {
    return CREDENTIAL_KEYS.includes(key) ? `https://secret.invalid/${SECRET_PLACEHOLDER}` : SECRET_PLACEHOLDER;
}

export function stackFilePath(stack: string): string {
    return path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`);
}

/** The stacks that have a file in stacks/, sorted. */
export function stackNames(): string[] {
    return fs
        .readdirSync(path.join(ROOT, "stacks"))
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

function isEncrypted(value: unknown): boolean {
    return typeof value === "object" && value !== null && "secure" in value;
}

export function readStackFile(stack: string): StackFile {
    const doc = yaml.load(fs.readFileSync(stackFilePath(stack), "utf8")) as
        { config?: Record<string, unknown> } | undefined;
    const entries = Object.entries(doc?.config ?? {}).map(([key, value]) => {
        const secret = isEncrypted(value);
        const raw = secret ? SECRET_PLACEHOLDER : typeof value === "string" ? value : JSON.stringify(value);
        return { key, value: raw, secret };
    });
    const own = entries
        .filter((entry) => entry.key.startsWith(`${PROJECT}:`))
        .map((entry) => ({ ...entry, key: entry.key.slice(PROJECT.length + 1) }));
    return {
        entries,
        config: Object.fromEntries(own.map((entry) => [entry.key, entry.value])),
        secretKeys: own.filter((entry) => entry.secret).map((entry) => entry.key),
    };
}
