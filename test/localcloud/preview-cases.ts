// The changes of issue 12's Why list, previewed on the prod stack: the old graph (the program at OLD_GRAPH, before
// the graph fix) must be warned about for each, the new graph must roll every one member at a time. Shared by
// preview-engine.test.ts (the real engine, which also writes the fixtures) and preview.test.ts (the fixtures).
import * as assert from "node:assert/strict";
import * as path from "node:path";
import {
    EnginePreview,
    EngineResourceState,
    INSTANCE,
    PreviewReport,
    REMOTE_COMMAND,
    transitiveDependencies,
    VOLUME,
} from "../../localcloud/preview";

/** The program as it was before issue 12's graph fix: data on ebsBlockDevices, no ready chain. */
export const OLD_GRAPH = "1d6f486";
export const STACK = "prod";
/** prod's members. */
const MEMBERS = [0, 1, 2, 3, 4].map((i) => `prod-etcd-${i}`);

/** One change previewed against the recorded base. */
export interface PreviewCase {
    /** Also the fixture's file name. */
    name: string;
    settings: string[];
    /** A newer upstream image is published first (it stays published for the cases after it). */
    publishImage?: boolean;
    check(report: PreviewReport): void;
}

/** The warning that members go down together; fails unless there is exactly one. */
function together(report: PreviewReport): string {
    const found = report.warnings.filter((warning) => / members go down at the same time /.test(warning));
    assert.equal(found.length, 1, `one "at the same time" warning in:\n${report.warnings.join("\n")}`);
    return found[0] as string;
}

/** Every member listed as going down together, each `(<op>: ...<reason>`. */
function allMembersDownTogether(report: PreviewReport, op: string, reason: string): void {
    const warning = together(report);
    assert.match(warning, /^5 members go down at the same time/);
    for (const member of MEMBERS) assert.ok(warning.includes(`${member} (${op}: `), `${member} in ${warning}`);
    for (const member of MEMBERS) assert.match(warning, new RegExp(`${member} \\(${op}: [^)]*\\b${reason}\\b`));
}

/** The data volume of each of `members` is reported deleted with its instance. */
function dataLostWith(report: PreviewReport, members: string[]): void {
    const lost = report.warnings.filter((warning) => /^data volume \/dev\/sdf of .* is deleted/.test(warning));
    assert.deepEqual(
        lost.map((warning) => /of (\S+) /.exec(warning)?.[1]),
        members,
    );
}

/** The instance steps, `<op> <name> (<reasons>)`. */
const instanceSteps = (report: PreviewReport): string[] =>
    report.steps
        .filter((step) => step.type === INSTANCE)
        .map((step) => `${step.op} ${step.name} (${step.reasons.join(", ")})`);

/**
 * The old graph: every change of the Why list takes all members down at once or loses data, and is warned about
 * (a set amiId replaces as the new image does: the new graph's cases cover it).
 */
export const OLD_GRAPH_CASES: PreviewCase[] = [
    {
        name: "old-volume-size",
        settings: ["etcd-aws:volumeSizeGiB=200"],
        check(report) {
            assert.deepEqual(
                instanceSteps(report),
                MEMBERS.map((member) => `replace ${member} (ebsBlockDevices)`),
            );
            allMembersDownTogether(report, "replace", "ebsBlockDevices");
            dataLostWith(report, MEMBERS);
        },
    },
    {
        name: "old-instance-type",
        settings: ["etcd-aws:instanceType=m7g.xlarge"],
        check(report) {
            assert.deepEqual(
                instanceSteps(report),
                MEMBERS.map((member) => `update ${member} (instanceType)`),
            );
            allMembersDownTogether(report, "update", "instanceType");
        },
    },
    {
        name: "old-scale-in",
        settings: ["etcd-aws:memberCount=3"],
        check(report) {
            assert.deepEqual(
                instanceSteps(report).filter((step) => step.startsWith("delete")),
                ["delete prod-etcd-3 ()", "delete prod-etcd-4 ()"],
            );
            const gate = report.warnings.filter((warning) => warning.startsWith("health gate prod-etcd-health ("));
            assert.equal(gate.length, 1, report.warnings.join("\n"));
            assert.match(gate[0] as string, /runs while prod-etcd-3, prod-etcd-4 are still members/);
            dataLostWith(report, ["prod-etcd-3", "prod-etcd-4"]);
        },
    },
    {
        name: "old-new-image",
        settings: [],
        publishImage: true,
        check(report) {
            allMembersDownTogether(report, "replace", "ami");
            dataLostWith(report, MEMBERS);
        },
    },
];

/** No warning that members go down together or that data is lost. */
function safe(report: PreviewReport): void {
    assert.deepEqual(
        report.warnings.filter((warning) => /at the same time|data volume/.test(warning)),
        [],
    );
    assert.deepEqual(
        report.steps.filter((step) => step.type === VOLUME && step.op !== "update"),
        [],
    );
}

/** The new graph: the same changes, one member down at a time and every data volume kept. */
export const NEW_GRAPH_CASES: PreviewCase[] = [
    {
        name: "new-volume-size",
        settings: ["etcd-aws:volumeSizeGiB=200"],
        check(report) {
            safe(report);
            assert.deepEqual(
                report.steps.filter((step) => step.type === VOLUME).map((step) => `${step.op} ${step.reasons}`),
                MEMBERS.map(() => "update size"),
            );
        },
    },
    {
        name: "new-instance-type",
        settings: ["etcd-aws:instanceType=m7g.xlarge"],
        check(report) {
            safe(report);
            assert.equal(instanceSteps(report).filter((step) => step.includes("instanceType")).length, 5);
        },
    },
    {
        name: "new-ami-id",
        settings: ["etcd-aws:amiId=ami-0123456789abcdef0"],
        check(report) {
            safe(report);
            assert.equal(instanceSteps(report).filter((step) => step.startsWith("replace")).length, 5);
        },
    },
    {
        name: "new-new-image",
        settings: [],
        publishImage: true,
        check(report) {
            // The AMI is pinned: a newer upstream image changes nothing until amiId asks for it.
            safe(report);
            assert.deepEqual(instanceSteps(report), []);
        },
    },
];

/**
 * The migration of a stack deployed with the old graph to the new one (the working tree, no setting changed): the
 * engine's checks pass (the members' requests and certificates have new names, see components/etcd-pki.ts), every
 * instance is replaced once, each after the previous member's ready command, and each loses its old data volume
 * (deleteOnTermination): the member rejoins empty and gets its data from the others.
 */
export const MIGRATION: PreviewCase = {
    name: "migration-old-to-new",
    settings: [],
    check(report) {
        assert.deepEqual(
            report.warnings.filter((warning) => warning.startsWith("the engine's preview failed")),
            [],
        );
        assert.deepEqual(
            instanceSteps(report).map((step) => step.split(" (")[0]),
            MEMBERS.map((member) => `replace ${member}`),
        );
        assert.deepEqual(
            report.warnings.filter((warning) => / at the same time /.test(warning)),
            [],
        );
        dataLostWith(report, MEMBERS);
    },
};

/** Where a case's trimmed engine JSON is kept. */
export const fixtureFile = (name: string): string =>
    path.resolve(__dirname, "..", "fixtures", "preview", `${name}.json`);

/** The types whose steps the analysis reads (members, data volumes, the ready commands and the health gate). */
const ANALYSED = new Set([INSTANCE, VOLUME, REMOTE_COMMAND]);

/**
 * The engine's preview restricted to what the analysis reads, so that a fixture stays small and holds no keys: the
 * steps of the analysed types in URN order, each with its op, reasons and type, an instance's dependencies closed over
 * the whole graph and then restricted to the analysed steps (the analysis asks only whether an instance depends,
 * through anything, on another member's ready command), and an instance's data devices; the error diagnostics.
 */
export function trimmed(preview: EnginePreview): EnginePreview {
    const steps = preview.steps ?? [];
    const dependencies = new Map(steps.map((step) => [step.urn, step.newState?.dependencies ?? []]));
    // In URN order: the engine's order varies from run to run, a fixture should change only with the graph.
    const kept = steps
        .filter((step) => ANALYSED.has(step.newState?.type ?? step.oldState?.type ?? ""))
        .sort((a, b) => a.urn.localeCompare(b.urn));
    const keptUrns = new Set(kept.map((step) => step.urn));
    /** A state; with its dependencies for an instance's new state (the analysis reads only those). */
    const state = (current: EngineResourceState | undefined, isNew: boolean): EngineResourceState | undefined => {
        if (!current) return undefined;
        const devices = current.outputs?.ebsBlockDevices as { deviceName?: string; deleteOnTermination?: boolean }[];
        const closed = [...transitiveDependencies(current.urn, dependencies)].filter((urn) => keptUrns.has(urn));
        return {
            urn: current.urn,
            type: current.type,
            ...(isNew && current.type === INSTANCE && closed.length ? { dependencies: closed.sort() } : {}),
            ...(current.type === INSTANCE && devices?.length
                ? {
                      outputs: {
                          ebsBlockDevices: devices.map(({ deviceName, deleteOnTermination }) => ({
                              deviceName,
                              deleteOnTermination,
                          })),
                      },
                  }
                : {}),
        };
    };
    const errors = (preview.diagnostics ?? []).filter((diagnostic) => diagnostic.severity === "error");
    return {
        ...(errors.length ? { diagnostics: errors.map(({ severity, message }) => ({ severity, message })) } : {}),
        steps: kept.map((step) => ({
            op: step.op,
            urn: step.urn,
            ...(step.diffReasons ? { diffReasons: step.diffReasons } : {}),
            ...(step.replaceReasons ? { replaceReasons: step.replaceReasons } : {}),
            ...(step.oldState ? { oldState: state(step.oldState, false) } : {}),
            ...(step.newState ? { newState: state(step.newState, true) } : {}),
        })),
    };
}
