// scripts/preview.sh's engine side on the prod stack: one base deployment recorded per graph, then each change of
// preview-cases.ts previewed by the real engine and checked; the new graph's volume resize through the script itself
// (`scripts/preview.sh prod --set etcd-aws:volumeSizeGiB=200 --json`). PREVIEW_FIXTURES=write also stores each
// preview, trimmed to what the analysis reads, as test/fixtures/preview/<case>.json (preview.test.ts checks them
// without the engine).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { analysePreview, EnginePreview, PreviewReport } from "../../localcloud/preview";
import { PreviewSession, runCaptured } from "../../localcloud/preview-run";
import {
    fixtureFile,
    MIGRATION,
    NEW_GRAPH_CASES,
    OLD_GRAPH,
    OLD_GRAPH_CASES,
    PreviewCase,
    STACK,
    trimmed,
} from "./preview-cases";

const ROOT = path.resolve(__dirname, "..", "..");
const PULUMI = path.join(ROOT, ".tools", "pulumi", "bin", "pulumi");

/** Writes the case's fixture when PREVIEW_FIXTURES=write. */
function keepFixture(change: PreviewCase, preview: EnginePreview): void {
    if (process.env.PREVIEW_FIXTURES !== "write") return;
    fs.mkdirSync(path.dirname(fixtureFile(change.name)), { recursive: true });
    fs.writeFileSync(fixtureFile(change.name), `${JSON.stringify(trimmed(preview), null, 1)}\n`);
}

/**
 * Deploys `base` once and previews each case against it; `more` adds tests run after them on the same session (which
 * may move its state on).
 */
function previewsOf(
    title: string,
    base: string | undefined,
    head: string | undefined,
    cases: PreviewCase[],
    more: (session: () => PreviewSession) => void = () => undefined,
): void {
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
        more(() => {
            if (!session) throw new Error("no session");
            return session;
        });
    });
}

/** The old graph's stack migrated to the new graph (last: it moves the state on), as the CHANGELOG tells users to. */
function migration(session: () => PreviewSession): void {
    it(`${MIGRATION.name}: previewed, then recorded by pulumi up with no engine error, then nothing left to change`, async () => {
        const preview = await session().previewHead(undefined);
        keepFixture(MIGRATION, preview);
        MIGRATION.check(analysePreview(preview));
        const up = await session().upHead(undefined);
        assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
        assert.doesNotMatch(up.stdout + up.stderr, /snapshot integrity|duplicate resource/);
        const again = await session().previewHead(undefined);
        assert.deepEqual(
            (again.steps ?? []).filter((step) => !["same", "read"].includes(step.op)).map((step) => step.urn),
            [],
        );
    });
}

describe("localcloud/preview-run: the real engine previews each change of prod against its recorded base", () => {
    previewsOf(
        `the old graph (${OLD_GRAPH}): warned about every change, then migrated`,
        OLD_GRAPH,
        OLD_GRAPH,
        OLD_GRAPH_CASES,
        migration,
    );
    const [viaScript, ...viaSession] = NEW_GRAPH_CASES as [PreviewCase, ...PreviewCase[]];
    previewsOf("the new graph (the working tree): one member at a time", undefined, undefined, viaSession);

    it(`scripts/preview.sh ${STACK} ${viaScript.settings.join(" ")} --json: the new graph resizes in place`, async function () {
        this.timeout(300_000);
        if (!fs.existsSync(PULUMI)) this.skip();
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "preview-script-"));
        try {
            const engineJson = path.join(directory, "engine.json");
            const sets = viaScript.settings.flatMap((setting) => ["--set", setting]);
            const run = await runCaptured(
                path.join(ROOT, "scripts", "preview.sh"),
                [STACK, ...sets, "--json", "--engine-json", engineJson],
                { timeout: 300_000 },
            );
            assert.equal(run.code, 0, run.stderr);
            assert.match(run.stderr, /^preview: note: etcd-aws:sshPrivateKey: throwaway value for this preview/m);
            const report = JSON.parse(run.stdout) as PreviewReport;
            assert.deepEqual(Object.keys(report), ["steps", "warnings"]);
            viaScript.check(report);
            keepFixture(viaScript, JSON.parse(fs.readFileSync(engineJson, "utf8")) as EnginePreview);
        } finally {
            fs.rmSync(directory, { recursive: true, force: true });
        }
    });
});
