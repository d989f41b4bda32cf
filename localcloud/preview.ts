// What a change does to a running cluster, read from the real engine's `pulumi preview --diff --json --show-sames`:
// each step with the properties that cause it, and a warning for every step that endangers the cluster (issue 12
// item 3). Pure: scripts/preview.sh (localcloud/preview-run.ts) runs the engine, this module only reads its JSON.
import { UpgradeHop } from "../core/upgrade";
import { describeHop } from "./version-change";

/** One resource state in the engine's preview JSON (apitype.ResourceV3, the fields read here). */
export interface EngineResourceState {
    urn: string;
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    dependencies?: string[];
}

/** One step of the engine's preview JSON (display.PreviewStep). */
export interface EngineStep {
    op: string;
    urn: string;
    oldState?: EngineResourceState;
    newState?: EngineResourceState;
    diffReasons?: string[];
    replaceReasons?: string[];
    detailedDiff?: Record<string, { kind: string; inputDiff?: boolean }> | null;
}

/** A diagnostic of the engine's preview JSON (display.PreviewDiagnostic). */
export interface EngineDiagnostic {
    urn?: string;
    message?: string;
    severity?: string;
}

/** The engine's preview JSON (display.PreviewDigest, the fields read here). */
export interface EnginePreview {
    steps?: EngineStep[];
    diagnostics?: EngineDiagnostic[];
}

/** A step as preview.sh reports it. */
export interface PreviewStep {
    op: string;
    type: string;
    name: string;
    /** The properties causing it: the replace reasons of a replacement, the changed properties of an update. */
    reasons: string[];
}

/** What preview.sh prints with --json. */
export interface PreviewReport {
    steps: PreviewStep[];
    warnings: string[];
    /** The etcd release change the head asks of the base's running release (core/upgrade.ts's hop), if any. */
    upgrade?: UpgradeHop;
}

export const INSTANCE = "aws:ec2/instance:Instance";
export const VOLUME = "aws:ebs/volume:Volume";
export const REMOTE_COMMAND = "command:remote:Command";

/** Ops that replace a resource (the logical replace, and the two physical halves when shown). */
const REPLACING = new Set(["replace", "create-replacement", "delete-replaced"]);

/** Instance inputs whose update stops and starts the instance (terraform-provider-aws ec2_instance.go Update). */
export const STOPPING_PROPERTIES = ["instanceType", "userData", "userDataBase64", "capacityReservationSpecification"];

/** The command that holds a member's rollout until it is back: `<member>-ready` (design of issue 12). */
export const READY_SUFFIX = "-ready";

/** The health gate, which checks the membership of the whole cluster: `<cluster>-health`. */
export const HEALTH_GATE_SUFFIX = "-health";

/** The resource name at the end of a URN. */
export const nameOfUrn = (urn: string): string => urn.slice(urn.lastIndexOf("::") + 2);

/** The type token of a URN (`urn:pulumi:stack::project::parent$type::name`). */
function typeOfUrn(urn: string): string {
    const qualified = urn.split("::")[2] ?? "";
    return qualified.slice(qualified.lastIndexOf("$") + 1);
}

const typeOf = (step: EngineStep): string => step.newState?.type ?? step.oldState?.type ?? typeOfUrn(step.urn);

/** The properties causing a step. */
export function stepReasons(step: EngineStep): string[] {
    const reasons =
        REPLACING.has(step.op) && step.replaceReasons?.length
            ? step.replaceReasons
            : step.diffReasons?.length
              ? step.diffReasons
              : Object.keys(step.detailedDiff ?? {});
    // Sorted: the engine lists them in the order the provider's diff happened to give.
    return [...reasons].sort();
}

/** How a step takes a member down: replaced (a new, empty host), stopped (stop and start), or not at all. */
function disruption(step: EngineStep): "replaced" | "stopped" | undefined {
    if (typeOf(step) !== INSTANCE) return undefined;
    if (REPLACING.has(step.op)) return "replaced";
    if (step.op === "update" && stepReasons(step).some((reason) => STOPPING_PROPERTIES.includes(reason))) {
        return "stopped";
    }
    return undefined;
}

/** Steps in the order of their names (the engine's order varies from run to run). */
const byName = (a: EngineStep, b: EngineStep): number => nameOfUrn(a.urn).localeCompare(nameOfUrn(b.urn));

/** Every URN that `urn` depends on, directly or through others (the new states' dependencies). */
export function transitiveDependencies(urn: string, dependencies: Map<string, string[]>): Set<string> {
    const seen = new Set<string>();
    const pending = [...(dependencies.get(urn) ?? [])];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
        if (seen.has(next)) continue;
        seen.add(next);
        pending.push(...(dependencies.get(next) ?? []));
    }
    return seen;
}

/** `step` described with its reasons: `etcd-0 (replace: ami)`. */
function described(step: EngineStep): string {
    const reasons = stepReasons(step);
    return `${nameOfUrn(step.urn)} (${step.op}${reasons.length ? `: ${reasons.join(", ")}` : ""})`;
}

/** Members taken down at the same time: disrupted instances that no member's ready command orders. */
function concurrentDisruptionWarnings(steps: EngineStep[]): string[] {
    const disrupted = steps.filter((step) => disruption(step) !== undefined).sort(byName);
    if (disrupted.length < 2) return [];
    const dependencies = new Map(steps.map((step) => [step.urn, step.newState?.dependencies ?? []]));
    const readyOf = new Map(
        steps
            .filter((step) => typeOf(step) === REMOTE_COMMAND && nameOfUrn(step.urn).endsWith(READY_SUFFIX))
            .map((step) => [nameOfUrn(step.urn).slice(0, -READY_SUFFIX.length), step.urn]),
    );
    const after = new Map(disrupted.map((step) => [step.urn, transitiveDependencies(step.urn, dependencies)]));
    /** True when `later` waits for `earlier`'s ready command. */
    const waitsFor = (later: EngineStep, earlier: EngineStep): boolean => {
        const ready = readyOf.get(nameOfUrn(earlier.urn));
        return ready !== undefined && (after.get(later.urn)?.has(ready) ?? false);
    };
    const unordered = disrupted.filter((step) =>
        disrupted.some((other) => other !== step && !waitsFor(step, other) && !waitsFor(other, step)),
    );
    if (unordered.length < 2) return [];
    return [
        `${unordered.length} members go down at the same time (no member's ${READY_SUFFIX.slice(1)} command orders ` +
            `them): ${unordered.map(described).join(", ")}. More than one member down at once loses quorum on a ` +
            "3-member cluster and every replaced member starts empty.",
    ];
}

/** The instance's data volumes that terminating it deletes (ebsBlockDevices with deleteOnTermination). */
function volumesDeletedWithInstance(state: EngineResourceState | undefined): string[] {
    const devices = (state?.outputs?.ebsBlockDevices ?? state?.inputs?.ebsBlockDevices) as
        { deviceName?: string; deleteOnTermination?: boolean }[] | undefined;
    return (devices ?? [])
        .filter((device) => device.deleteOnTermination !== false)
        .map((device) => device.deviceName ?? "?");
}

/** Data volumes deleted or replaced: a Volume resource, or an instance's ebsBlockDevices going with it. */
function dataVolumeWarnings(steps: EngineStep[]): string[] {
    return [...steps].sort(byName).flatMap((step) => {
        const deleting = step.op === "delete" || REPLACING.has(step.op);
        if (!deleting) return [];
        if (typeOf(step) === VOLUME) {
            return [
                `data volume ${described(step)} is ${step.op === "delete" ? "deleted" : "replaced"}: its data is lost.`,
            ];
        }
        if (typeOf(step) !== INSTANCE) return [];
        return volumesDeletedWithInstance(step.oldState).map(
            (device) =>
                `data volume ${device} of ${described(step)} is deleted with the instance ` +
                "(ebsBlockDevices, deleteOnTermination): its data is lost.",
        );
    });
}

/** Members deleted: beyond the old cluster's failure tolerance, and before a health gate that runs first. */
function deletedMemberWarnings(steps: EngineStep[]): string[] {
    const instances = steps.filter((step) => typeOf(step) === INSTANCE);
    const before = instances.filter((step) => step.oldState !== undefined).length;
    const deleted = instances.filter((step) => step.op === "delete").sort(byName);
    if (deleted.length === 0) return [];
    const names = deleted.map((step) => nameOfUrn(step.urn)).join(", ");
    const warnings: string[] = [];
    const tolerance = Math.floor((before - 1) / 2);
    if (deleted.length > tolerance) {
        warnings.push(
            `${deleted.length} of ${before} members deleted (${names}): more than the ${tolerance} a ` +
                `${before}-member cluster can lose, so quorum is at risk.`,
        );
    }
    for (const gate of steps.filter(
        (step) =>
            typeOf(step) === REMOTE_COMMAND &&
            nameOfUrn(step.urn).endsWith(HEALTH_GATE_SUFFIX) &&
            ["create", "update", ...REPLACING].includes(step.op),
    )) {
        warnings.push(
            `health gate ${described(gate)} runs while ${names} are still members: the engine deletes them ` +
                "(their leave hooks) only after every create and update, so a gate that counts every started " +
                "member sees the old size.",
        );
    }
    return warnings;
}

/** The report of one engine preview: its steps (all but unchanged ones) and the warnings. */
export function analysePreview(preview: EnginePreview): PreviewReport {
    const steps = preview.steps ?? [];
    return {
        steps: [...steps]
            .sort(byName)
            .filter((step) => step.op !== "same" && step.op !== "read")
            .map((step) => ({
                op: step.op,
                type: typeOf(step),
                name: nameOfUrn(step.urn),
                reasons: stepReasons(step),
            })),
        warnings: [
            ...previewErrors(preview).map(
                (error) => `the engine's preview failed: ${error} (\`pulumi up\` fails the same way)`,
            ),
            ...concurrentDisruptionWarnings(steps),
            ...dataVolumeWarnings(steps),
            ...deletedMemberWarnings(steps),
        ],
    };
}

/** The engine's error messages, each once (a failed preview says why). */
export function previewErrors(preview: Pick<EnginePreview, "diagnostics">): string[] {
    const messages = (preview.diagnostics ?? [])
        .filter((diagnostic) => diagnostic.severity === "error")
        .map((diagnostic) =>
            (diagnostic.message ?? "")
                .trim()
                .replace(/^error: /, "")
                // The same failure is reported before and after each step it stops.
                .replace(/^(pre|post)-step event returned an error: /, ""),
        )
        .filter((message) => message !== "" && message !== "preview failed");
    return [...new Set(messages)];
}

/** A replacement without reasons of its own: the engine replaces what depends on a resource deleted before replace. */
const DEPENDENT_REPLACEMENT = "(a resource it depends on is deleted before its replacement)";

/** The report as text: a header, one line per step, the warnings. */
export function renderReport(report: PreviewReport, header: string[]): string {
    const width = (pick: (step: PreviewStep) => string) =>
        Math.max(0, ...report.steps.map((step) => pick(step).length));
    const opWidth = width((step) => step.op);
    const typeWidth = width((step) => step.type);
    const nameWidth = width((step) => step.name);
    const lines = [
        ...header,
        ...(report.upgrade ? ["", ...describeHop(report.upgrade)] : []),
        "",
        ...(report.steps.length ? [] : ["no changes"]),
        ...report.steps.map((step) =>
            [
                step.op.padEnd(opWidth),
                step.type.padEnd(typeWidth),
                step.name.padEnd(nameWidth),
                step.reasons.length
                    ? `(${step.reasons.join(", ")})`
                    : step.op === "replace"
                      ? DEPENDENT_REPLACEMENT
                      : "",
            ]
                .join("  ")
                .trimEnd(),
        ),
        "",
        ...report.warnings.map((warning) => `WARNING: ${warning}`),
        `${report.steps.length} steps, ${report.warnings.length} warnings`,
    ];
    return `${lines.join("\n")}\n`;
}
