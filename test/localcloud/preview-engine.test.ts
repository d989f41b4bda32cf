// scripts/preview.sh's engine side on the prod stack: one base deployment recorded per graph, then each change of
// preview-cases.ts previewed by the real engine and checked. PREVIEW_FIXTURES=write also stores each
// preview, trimmed to what the analysis reads, as test/fixtures/preview/<case>.json (preview.test.ts checks them
// without the engine).
import * as fs from "node:fs";
import * as path from "node:path";
import { analysePreview, EnginePreview } from "../../localcloud/preview";
import { PreviewSession } from "../../localcloud/preview-run";
import { fixtureFile, OLD_GRAPH, OLD_GRAPH_CASES, PreviewCase, STACK, trimmed } from "./preview-cases";

const ROOT = path.resolve(__dirname, "..", "..");
const PULUMI = path.join(ROOT, ".tools", "pulumi", "bin", "pulumi");

/** Writes the case's fixture when PREVIEW_FIXTURES=write. */
function keepFixture(change: PreviewCase, preview: EnginePreview): void {
    if (process.env.PREVIEW_FIXTURES !== "write") return;
    fs.mkdirSync(path.dirname(fixtureFile(change.name)), { recursive: true });
    fs.writeFileSync(fixtureFile(change.name), `${JSON.stringify(trimmed(preview), null, 1)}\n`);
}

/** Deploys `base` once and previews each case against it. */
function previewsOf(title: string, base: string, head: string | undefined, cases: PreviewCase[]): void {
    describe(title, function () {
        this.timeout(300_000);
        let session: PreviewSession | undefined;

        before(async function () {
            if (!fs.existsSync(PULUMI)) {
                console.log(`    skipped: ${PULUMI} is missing (scripts/bootstrap.sh builds it)`);
                this.skip();
            }
            session = new PreviewSession(STACK);
            await session.deployBase(base);
        });

        after(() => session?.close());

        for (const change of cases) {
            it(`${change.name}: ${change.settings.join(" ") || "a newer upstream image"}`, async () => {
                if (!session) throw new Error("no session");
                if (change.publishImage) session.publishImage();
                const preview = await session.previewHead(head, change.settings);
                keepFixture(change, preview);
                change.check(analysePreview(preview));
            });
        }
    });
}

describe("localcloud/preview-run: the real engine previews each change of prod against its recorded base", () => {
    previewsOf(`the old graph (${OLD_GRAPH}): warned about every change`, OLD_GRAPH, OLD_GRAPH, OLD_GRAPH_CASES);
});
