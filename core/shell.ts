// Building blocks of the scripts that run on members: quoting, heredocs, the settings block, and
// the bundle that joins them with the script text of host/ (read once, at module load), so one
// `sudo bash -s` stdin carries a whole script and reads on its own when opened on a host.
import * as fs from "fs";
import * as path from "path";

/** A single-quoted shell word: safe for any value. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A quoted heredoc whose delimiter cannot occur in the content. */
export function heredoc(content: string, tag = "ETCD_AWS_EOF"): string {
    let delimiter = tag;
    while (content.split("\n").includes(delimiter)) {
        delimiter += "_";
    }
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return `<<'${delimiter}'\n${body}${delimiter}`;
}

/** `NAME='value'` assignments, one per line, for a script's settings block. */
export function assignments(values: Readonly<Record<string, string | number>>): string {
    return Object.entries(values)
        .map(([name, value]) => `${name}=${shellQuote(String(value))}`)
        .join("\n");
}

/** The package's host/ directory: beside core/ in the sources, two levels up from dist/core/. */
function findHostDir(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "host", "lib", "common.sh"))) {
            return path.join(dir, "host");
        }
    }
    throw new Error(`etcd-aws: no host/ directory with the member scripts above ${__dirname}`);
}

export const HOST_SCRIPTS_DIR = findHostDir();

/** The scripts in host/ (and host/lib/) that the bundles are made of. */
const HOST_SCRIPT_NAMES = [
    "etcd-aws-launch.sh",
    "etcd-aws-leave.sh",
    "etcd-aws-health-gate.sh",
    "etcd-aws-discovery-size.sh",
    "etcd-aws-auth.sh",
    "etcd-aws-install.sh",
    "etcd-aws-member-ready.sh",
    "etcd-aws-backup.sh",
    "etcd-aws-restore.sh",
    "etcd-aws-prepare-change.sh",
    "etcd-aws-defrag.sh",
    "etcd-aws-recover-space.sh",
    "etcd-aws-force-new-cluster.sh",
    "lib/common.sh",
    "lib/membership.sh",
    "lib/defrag.sh",
    "lib/s3.sh",
    "lib/etcd_json.py",
    "lib/disk_probe.py",
] as const;

/** One of the files in host/ that a bundle can carry. */
export type HostScript = (typeof HOST_SCRIPT_NAMES)[number];

const HOST_SCRIPT_TEXT = new Map(
    HOST_SCRIPT_NAMES.map((name) => [name, fs.readFileSync(path.join(HOST_SCRIPTS_DIR, name), "utf8")]),
);

/** The text of a file in host/, as shipped. */
export function hostScript(name: HostScript): string {
    return HOST_SCRIPT_TEXT.get(name) as string;
}

/** How a script run from a checkout reads its libraries: the bundle carries them already. */
const SOURCE_LIBRARIES = /^if ! declare -F write_if_changed >\/dev\/null; then.*\n(?:.*\n)*?fi\n/m;

/** A host file's text as a part of a bundle: its shebang and library loading dropped, a line saying where it comes from. */
function bundlePart(name: HostScript): string {
    const text = hostScript(name)
        .replace(/^#!.*\n/, "")
        .replace(SOURCE_LIBRARIES, "");
    return `# ---- host/${name}\n${text.endsWith("\n") ? text : `${text}\n`}`;
}

/**
 * Start of every bundle: shebang, the description an operator reads, strict mode, and
 * host/lib/common.sh (log tagged with `purpose`, write_if_changed, under_root, ...).
 */
export function scriptPrelude(purpose: string, description: readonly string[]): string {
    return [
        "#!/usr/bin/env bash",
        ...description.map((line) => `# ${line}`),
        "# Rendered by etcd-aws from its host/*.sh; safe to run again: each step checks before it changes anything.",
        "set -euo pipefail",
        `LOG_TAG="${purpose}"`,
        "",
        bundlePart("lib/common.sh"),
    ].join("\n");
}

export interface BundleInput {
    /** Tag of the log lines, e.g. "launch". */
    readonly purpose: string;
    readonly description: readonly string[];
    /** The per-member values the script expects (its settings block). */
    readonly settings: Readonly<Record<string, string | number>>;
    /** Libraries besides lib/common.sh, in order. */
    readonly libraries?: readonly HostScript[];
    /** Whether the script reads JSON through etcd_json (the bundle then carries lib/etcd_json.py). */
    readonly readsJson?: boolean;
    /** Rendered shell text (function definitions) the script calls, e.g. the files to write. */
    readonly definitions?: readonly string[];
    /** The script itself. */
    readonly script: HostScript;
}

/** One script as it goes on a member's stdin: prelude, settings, definitions, libraries, script. */
export function renderBundle(input: BundleInput): string {
    return [
        scriptPrelude(input.purpose, input.description),
        "# ---- settings",
        assignments(input.settings),
        "",
        ...(input.readsJson
            ? [`ETCD_JSON_PY=$(cat ${heredoc(hostScript("lib/etcd_json.py"), "ETCD_JSON_PY")}\n)`, ""]
            : []),
        ...(input.definitions ?? []).map((text) => `${text}\n`),
        ...(input.libraries ?? []).map(bundlePart),
        bundlePart(input.script),
    ].join("\n");
}

/** A shell function (`name() { ... }`) around rendered lines. */
export function shellFunction(name: string, comment: string, body: readonly string[]): string {
    return [`# ${comment}`, `${name}() {`, ...body, "}"].join("\n");
}
