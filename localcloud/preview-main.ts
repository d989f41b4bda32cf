// scripts/preview.sh: what `pulumi preview --diff` would show reviewers for a change to a stack, offline (issue 12
// item 3). The base (a git ref, default HEAD) is deployed in record mode to a throwaway local cloud, the head (the
// working tree, or --head <ref>) is previewed against it by the real engine, with --set applied to a copy of the
// stack's config; the steps, their reasons and the warnings are printed, as text or with --json.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { analysePreview, renderReport } from "./preview";
import { PreviewSession, resolveCommit } from "./preview-run";
import { versionChange } from "./version-change";

const USAGE =
    "usage: scripts/preview.sh <stack> [--base <git-ref>] [--head <git-ref>] [--set key=value]... [--publish-image] " +
    "[--json]\n" +
    "  --base           the deployed program (default HEAD), recorded in a throwaway local cloud\n" +
    "  --head           the changed program (default the working tree)\n" +
    "  --set            a stack config key for the head, e.g. etcd-aws:volumeSizeGiB=200 (repeatable)\n" +
    "  --publish-image  a newer upstream image is published before the head preview (what getAmi finds next)\n" +
    "  --json           { steps: [{ op, type, name, reasons }], warnings: [...] }\n" +
    "  --engine-json    also write the engine's own preview JSON to this file";

async function main(): Promise<void> {
    const { values, positionals } = parseArgs({
        allowPositionals: true,
        options: {
            base: { type: "string", default: "HEAD" },
            head: { type: "string" },
            set: { type: "string", multiple: true, default: [] },
            "publish-image": { type: "boolean", default: false },
            json: { type: "boolean", default: false },
            "engine-json": { type: "string" },
            help: { type: "boolean", short: "h", default: false },
        },
    });
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    const [stack, ...extra] = positionals;
    if (stack === undefined || extra.length > 0) throw new Error(USAGE);
    const session = new PreviewSession(stack);
    try {
        const started = Date.now();
        await session.deployBase(values.base);
        const image = values["publish-image"] ? session.publishImage() : undefined;
        const deployed = Date.now();
        const preview = await session.previewHead(values.head, values.set);
        if (values["engine-json"]) fs.writeFileSync(values["engine-json"], `${JSON.stringify(preview, null, 2)}\n`);
        const { etcdVersion } = await session.baseOutputs();
        const running = typeof etcdVersion === "string" && etcdVersion !== "" ? etcdVersion : undefined;
        // The program refuses a change it cannot take (the preview's error says so); an allowed one shows its hop.
        const { hop } = versionChange(session.project, stack, session.headConfig, running);
        const report = { ...analysePreview(preview), ...(hop ? { upgrade: hop } : {}) };
        const notes = [
            ...(image ? [`a newer upstream image ${image} was published after the base deployment`] : []),
            ...session.notes,
        ];
        if (values.json) {
            // stdout holds the JSON alone; what the reader must know goes beside it.
            for (const note of notes) process.stderr.write(`preview: note: ${note}\n`);
            process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            return;
        }
        const seconds = (from: number, to: number) => `${Math.round((to - from) / 1000)} s`;
        const head = values.head === undefined ? "the working tree" : `${values.head} (${resolveCommit(values.head)})`;
        const header = [
            `preview of stack ${stack}: base ${values.base} (${resolveCommit(values.base)}) recorded in a throwaway ` +
                `local cloud (${seconds(started, deployed)}), head ${head} previewed by the engine ` +
                `(${seconds(deployed, Date.now())})${values.set.length ? `, with ${values.set.join(" ")}` : ""}`,
            ...notes.map((note) => `note: ${note}`),
        ];
        process.stdout.write(renderReport(report, header));
    } finally {
        session.close();
    }
}

main().catch((error: Error) => {
    process.stderr.write(`preview: ${error.message}\n`);
    process.exit(1);
});
