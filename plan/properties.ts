// A resource's inputs as sorted `path: value` lines, one per leaf, so a changed setting changes
// exactly its own line in the plan. Scripts are summarized (their settings and a digest); the
// files they write are shown in their own sections.
import { createHash } from "crypto";
import { summarizeScript } from "./script-text";

export const SECRET = "<secret>";

type Scalar = string | number | boolean | null;

function isScalar(value: unknown): value is Scalar {
    return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function isMultiLine(value: unknown): value is string {
    return typeof value === "string" && value.includes("\n");
}

export function formatScalar(value: Scalar): string {
    if (typeof value !== "string") {
        return String(value);
    }
    return value === "" || value.trim() !== value ? JSON.stringify(value) : value;
}

export function digest(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

function textLines(path: string, text: string): string[] {
    const lineCount = text.replace(/\n$/, "").split("\n").length;
    if (!text.startsWith("#!")) {
        return [`${path}: <text, ${lineCount} lines, sha256 ${digest(text)}>`];
    }
    const script = summarizeScript(text);
    return [
        `${path}: <script, ${lineCount} lines, sha256 ${digest(text)}>`,
        ...script.description.map((line) => `${path} # ${line}`),
        ...Object.entries(script.settings).map(([name, value]) => `${path} ${name}=${formatScalar(value)}`),
    ];
}

function leafLines(path: string, value: unknown): string[] {
    if (isMultiLine(value)) {
        return textLines(path, value);
    }
    if (isScalar(value)) {
        return [`${path}: ${formatScalar(value)}`];
    }
    if (Array.isArray(value)) {
        if (value.every((item) => isScalar(item) && !isMultiLine(item))) {
            return [`${path}: [${value.map((item) => formatScalar(item as Scalar)).join(", ")}]`];
        }
        return value.flatMap((item, i) => leafLines(`${path}[${i}]`, item));
    }
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length === 0 ? [`${path}: {}`] : entries.flatMap(([key, item]) => leafLines(`${path}.${key}`, item));
}

/** The inputs as lines; an input that arrived secret is shown as <secret>, whatever it holds. */
export function propertyLines(inputs: Record<string, unknown>, secretInputs: ReadonlySet<string>): string[] {
    return Object.keys(inputs)
        .sort()
        .flatMap((key) => (secretInputs.has(key) ? [`${key}: ${SECRET}`] : leafLines(key, inputs[key])));
}
