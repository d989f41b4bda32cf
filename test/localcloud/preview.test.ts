import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { analysePreview, EnginePreview, EngineStep, previewErrors, renderReport } from "../../localcloud/preview";
import { engineErrorDiagnostics, parseSetting } from "../../localcloud/preview-run";
import { versionChange } from "../../localcloud/version-change";
import { fixtureFile, MIGRATION, NEW_GRAPH_CASES, OLD_GRAPH, OLD_GRAPH_CASES } from "./preview-cases";

const URN = "urn:pulumi:prod::etcd-aws::etcd-aws:index:EtcdCluster$";

/** A step of `type` named `name`, depending on the URNs of `dependencies`. */
function step(op: string, type: string, name: string, more: Partial<EngineStep> = {}, dependencies: string[] = []) {
    const urn = `${URN}${type}::${name}`;
    const state = { urn, type, dependencies };
    return { op, urn, oldState: op === "create" ? undefined : state, newState: state, ...more };
}

const instance = (name: string, op = "replace", dependencies: string[] = []) =>
    step(op, "aws:ec2/instance:Instance", name, { replaceReasons: ["ami"], diffReasons: ["ami"] }, dependencies);
const ready = (member: string, dependencies: string[] = []) =>
    step("replace", "command:remote:Command", `${member}-ready`, { replaceReasons: ["triggers"] }, dependencies);

describe("localcloud/preview: the analysis of the engine's preview JSON", () => {
    describe(`on the engine's JSON of the old graph (${OLD_GRAPH}, test/fixtures/preview)`, () => {
        for (const change of OLD_GRAPH_CASES) {
            it(`${change.name} (${change.settings.join(" ") || "a newer upstream image"}) is warned about`, () => {
                const fixture = JSON.parse(fs.readFileSync(fixtureFile(change.name), "utf8")) as EnginePreview;
                change.check(analysePreview(fixture));
            });
        }
    });

    describe("on the engine's JSON of the new graph", () => {
        for (const change of NEW_GRAPH_CASES) {
            it(`${change.name} (${change.settings.join(" ") || "a newer upstream image"}) keeps the data, one member down at most`, () => {
                const fixture = JSON.parse(fs.readFileSync(fixtureFile(change.name), "utf8")) as EnginePreview;
                change.check(analysePreview(fixture));
            });
        }
    });

    it(`the migration from the old graph to the new (${OLD_GRAPH} -> the working tree): no engine failure, one member at a time`, () => {
        const fixture = JSON.parse(fs.readFileSync(fixtureFile(MIGRATION.name), "utf8")) as EnginePreview;
        MIGRATION.check(analysePreview(fixture));
    });

    it("members are sequential when the later one depends, through anything, on the earlier one's ready command", () => {
        const first = instance("etcd-0");
        const firstReady = ready("etcd-0", [first.urn]);
        const launch = step("same", "command:remote:Command", "etcd-0-launch", {}, [firstReady.urn]);
        const second = instance("etcd-1", "replace", [launch.urn]);
        const report = analysePreview({ steps: [first, firstReady, launch, second] });
        assert.deepEqual(report.warnings, []);
        assert.deepEqual(
            report.steps.map((s) => `${s.op} ${s.name} ${s.reasons}`),
            ["replace etcd-0 ami", "replace etcd-0-ready triggers", "replace etcd-1 ami"],
        );
    });

    it("depending on the earlier instance itself (not its ready command) is no order: both are down together", () => {
        const first = instance("etcd-0");
        const second = instance("etcd-1", "update", [first.urn]);
        second.diffReasons = ["instanceType"];
        const report = analysePreview({ steps: [first, ready("etcd-0", [first.urn]), second] });
        assert.deepEqual(report.warnings, [
            "2 members go down at the same time (no member's ready command orders them): etcd-0 (replace: ami), " +
                "etcd-1 (update: instanceType). More than one member down at once loses quorum on a 3-member " +
                "cluster and every replaced member starts empty.",
        ]);
    });

    it("an update that does not stop the instance (tags) takes no member down", () => {
        const tagged = (name: string) => step("update", "aws:ec2/instance:Instance", name, { diffReasons: ["tags"] });
        assert.deepEqual(analysePreview({ steps: [tagged("etcd-0"), tagged("etcd-1")] }).warnings, []);
    });

    it("a Volume deleted or replaced is data lost; resized in place is not", () => {
        const volume = (op: string, name: string, reasons: string[]) =>
            step(op, "aws:ebs/volume:Volume", name, { diffReasons: reasons, replaceReasons: reasons });
        const report = analysePreview({
            steps: [volume("delete", "etcd-2-data", []), volume("replace", "etcd-1-data", ["kmsKeyId"])],
        });
        assert.deepEqual(report.warnings, [
            "data volume etcd-1-data (replace: kmsKeyId) is replaced: its data is lost.",
            "data volume etcd-2-data (delete) is deleted: its data is lost.",
        ]);
        assert.deepEqual(analysePreview({ steps: [volume("update", "etcd-0-data", ["size"])] }).warnings, []);
    });

    it("deleting more members than the old cluster tolerates (3 -> 1) puts quorum at risk; 5 -> 3 does not", () => {
        const members = (count: number, deleted: number) =>
            Array.from({ length: count }, (_, i) =>
                step(i >= count - deleted ? "delete" : "same", "aws:ec2/instance:Instance", `etcd-${i}`),
            );
        assert.deepEqual(analysePreview({ steps: members(3, 2) }).warnings, [
            "2 of 3 members deleted (etcd-1, etcd-2): more than the 1 a 3-member cluster can lose, so quorum is at risk.",
        ]);
        assert.deepEqual(analysePreview({ steps: members(5, 2) }).warnings, []);
    });

    it("renders one line per step with its reasons (a dependent replacement says so), then the warnings and counts", () => {
        const text = renderReport(
            {
                steps: [
                    { op: "update", type: "aws:ebs/volume:Volume", name: "etcd-0-data", reasons: ["size"] },
                    { op: "replace", type: "command:remote:Command", name: "etcd-0-ready", reasons: [] },
                ],
                warnings: ["careful"],
            },
            ["preview of stack prod"],
        );
        assert.equal(
            text,
            "preview of stack prod\n\n" +
                "update   aws:ebs/volume:Volume   etcd-0-data   (size)\n" +
                "replace  command:remote:Command  etcd-0-ready  (a resource it depends on is deleted before its replacement)\n" +
                "\nWARNING: careful\n2 steps, 1 warnings\n",
        );
    });

    it("an allowed etcdVersion change shows its hop (core/upgrade.ts's plan) after the header: what the roll does, the flags rewritten", () => {
        const config = {
            "etcd-aws:etcdVersion": "3.7.3",
            "etcd-aws:extraFlags": ["experimental-initial-corrupt-check=true"],
        };
        const { hop, refusal } = versionChange("etcd-aws", "prod", config, "3.6.16");
        assert.equal(refusal, undefined);
        assert.equal(hop?.kind, "upgrade");
        const text = renderReport({ steps: [], warnings: [], ...(hop ? { upgrade: hop } : {}) }, [
            "preview of stack prod",
        ]);
        assert.equal(
            text,
            "preview of stack prod\n\n" +
                "etcd upgrade 3.6.16 -> 3.7.3: each member reinstalled and restarted in turn under the membership lock, " +
                "a leader hands leadership over first, each caught up before the next\n" +
                "  - --experimental-initial-corrupt-check becomes --feature-gates=InitialCorruptCheck=true\n" +
                "\nno changes\n\n0 steps, 0 warnings\n",
        );
        const patch = versionChange("etcd-aws", "prod", { "etcd-aws:etcdVersion": "3.5.30" }, "3.5.16").hop;
        assert.deepEqual([patch?.kind, patch?.from, patch?.to], ["patch", "3.5.16", "3.5.30"]);
        // The same release, or no deployment yet: no hop; a refused one has none either (the preview's error says why).
        assert.equal(versionChange("etcd-aws", "prod", { "etcd-aws:etcdVersion": "3.5.16" }, "3.5.16").hop, undefined);
        assert.equal(versionChange("etcd-aws", "prod", { "etcd-aws:etcdVersion": "3.5.16" }, undefined).hop, undefined);
        assert.match(
            versionChange("etcd-aws", "prod", { "etcd-aws:etcdVersion": "3.6.16" }, "3.5.16").refusal ?? "",
            /needs 3\.5\.26 or later first/,
        );
    });

    it("the engine's errors on stderr are error diagnostics, each failure once, the closing line left out", () => {
        const stderr =
            "error: pre-step event returned an error: failed to verify snapshot: duplicate resource u (x)\n" +
            "error: post-step event returned an error: failed to verify snapshot: duplicate resource u (x)\n" +
            "  some context\nerror: preview failed\n";
        const diagnostics = engineErrorDiagnostics(stderr);
        assert.equal(diagnostics.length, 2);
        assert.deepEqual(previewErrors({ diagnostics }), ["failed to verify snapshot: duplicate resource u (x)"]);
    });

    it("--set: the project's namespace is added when missing, the value is read as YAML", () => {
        assert.deepEqual(parseSetting("volumeSizeGiB=200", "etcd-aws"), ["etcd-aws:volumeSizeGiB", 200]);
        assert.deepEqual(parseSetting("etcd-aws:extraFlags=[snapshot-count=5]", "etcd-aws"), [
            "etcd-aws:extraFlags",
            ["snapshot-count=5"],
        ]);
        assert.deepEqual(parseSetting("aws:region=eu-west-2", "etcd-aws"), ["aws:region", "eu-west-2"]);
        assert.throws(() => parseSetting("volumeSizeGiB", "etcd-aws"), /expected key=value/);
    });

    it("scripts/preview.sh without a stack, with an unknown option or a base that is no commit, fails before any engine run", function () {
        this.timeout(60_000);
        const script = path.resolve(__dirname, "..", "..", "scripts", "preview.sh");
        const noStack = spawnSync(script, [], { encoding: "utf8" });
        assert.equal(noStack.status, 1);
        assert.match(noStack.stderr, /^preview: usage: scripts\/preview\.sh <stack> \[--base <git-ref>\]/);
        const unknown = spawnSync(script, ["prod", "--sett", "x=1"], { encoding: "utf8" });
        assert.equal(unknown.status, 1);
        assert.match(unknown.stderr, /^preview: Unknown option '--sett'/);
        const noBase = spawnSync(script, ["prod", "--base", "no-such-ref"], { encoding: "utf8" });
        assert.equal(noBase.status, 1);
        assert.match(noBase.stderr, /^preview: no-such-ref names no commit of this checkout/);
    });
});
