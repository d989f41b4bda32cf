// Runs the real program or component under Pulumi's mock engine and records every resource
// it registers, with inputs as given (secrets unwrapped, and where they were secret noted).
// The unit tests and the offline plan (plan/main.ts) both run on it.
import * as pulumi from "@pulumi/pulumi";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import type { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as path from "path";
import { CloudValues, fakeCloudValues, placeholderCloudValues } from "./cloud-values";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const ROOT = path.resolve(__dirname, "..");

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    /** Inputs with secrets unwrapped, as loosely typed as Pulumi's mocks pass them. */
    readonly inputs: pulumi.runtime.MockResourceArgs["inputs"];
    /** Top-level input names that arrived secret. */
    readonly secretInputs: ReadonlySet<string>;
    readonly id: string;
    readonly state: pulumi.runtime.MockResourceResult["state"];
    /** Name of the parent resource ("" for the stack). */
    readonly parent: string;
    /** Type of the parent resource ("" for the stack): a component and its instance may share a name. */
    readonly parentType: string;
    /** Names of every resource this one depends on (dependsOn and through its inputs). */
    readonly dependencies: ReadonlySet<string>;
    readonly customTimeouts?: { create?: string; update?: string; delete?: string };
    /** The deleteBeforeReplace option. */
    readonly deleteBeforeReplace: boolean;
    /** The ignoreChanges option. */
    readonly ignoreChanges: readonly string[];
    /** The retainOnDelete option: a delete (destroy, replacement) forgets the resource and leaves it in the cloud. */
    readonly retainOnDelete: boolean;
}

export interface MockRun {
    readonly resources: RecordedResource[];
    readonly invokes: { token: string; inputs: pulumi.runtime.MockCallArgs["inputs"] }[];
    /** The program's exports (resolved), or the value the run function returned. */
    readonly outputs: Record<string, unknown>;
    readonly secretOutputs: ReadonlySet<string>;
    /** Messages the program logged with pulumi.log.warn, in order. */
    readonly warnings: string[];
}

interface RegistrationMeta {
    parent: string;
    parentType: string;
    dependencies: Set<string>;
    customTimeouts?: { create?: string; update?: string; delete?: string };
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    retainOnDelete: boolean;
}

function urnName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** `urn:pulumi:<stack>::<project>::<parent types $-joined>$<type>::<name>` -> `<type>`. */
function urnType(urn: string): string {
    const qualifiedType = urn.split("::")[2] ?? "";
    return qualifiedType.slice(qualifiedType.lastIndexOf("$") + 1);
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null;
}

/** A resource's or invoke's inputs with secrets unwrapped: an object of inputs again, as Pulumi types them. */
function unwrapInputs(inputs: pulumi.runtime.MockResourceArgs["inputs"]): pulumi.runtime.MockResourceArgs["inputs"] {
    return unwrap(inputs).value;
}

/** Wraps the mock monitor to see what the mocks API hides: parent, dependencies, timeouts. */
function recordRegistrations(meta: Map<string, RegistrationMeta>): void {
    // setMocks has just installed its mock monitor as the engine.
    const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: RegisterResourceRequest, callback) => {
        const timeouts = req.getCustomtimeouts?.();
        meta.set(`${req.getType()}::${req.getName()}`, {
            parent: req.getParent() ? urnName(req.getParent()) : "",
            parentType: req.getParent() ? urnType(req.getParent()) : "",
            dependencies: new Set<string>(req.getDependenciesList().map(urnName)),
            customTimeouts: timeouts
                ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }
                : undefined,
            deleteBeforeReplace: req.getDeletebeforereplace(),
            ignoreChanges: req.getIgnorechangesList(),
            retainOnDelete: req.getRetainondelete?.() ?? false,
        });
        return register(req, callback);
    };
}

function unwrap(value: unknown): { value: unknown; secret: boolean } {
    if (isObject(value) && value[SECRET_SIG] !== undefined) {
        return { value: unwrap(value.value).value, secret: true };
    }
    if (Array.isArray(value)) {
        const items = value.map(unwrap);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (isObject(value)) {
        const entries = Object.entries(value).map(([k, v]) => [k, unwrap(v)] as const);
        return {
            value: Object.fromEntries(entries.map(([k, v]) => [k, v.value])),
            secret: entries.some(([, v]) => v.secret),
        };
    }
    return { value, secret: false };
}

/**
 * Modules that keep state across a program run (the program itself, and the cluster
 * component's registry of tokens in use) and those that import them. Only these are loaded
 * afresh per run; the pure core stays cached, which keeps a run to a fraction of a second.
 */
const STATEFUL_MODULES = ["index.ts", "components/index.ts", "components/etcd-cluster.ts"].map((file) =>
    path.join(ROOT, file),
);

function forgetProjectModules(): void {
    for (const file of STATEFUL_MODULES) {
        delete require.cache[file];
    }
}

async function settle(resources: RecordedResource[]): Promise<void> {
    let last = -1;
    let stable = 0;
    for (let tick = 0; tick < 500 && stable < 5; tick++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        stable = resources.length === last ? stable + 1 : 0;
        last = resources.length;
    }
}

async function resolveOutputs(
    exports: Record<string, unknown>,
): Promise<{ outputs: Record<string, unknown>; secret: Set<string> }> {
    const outputs: Record<string, unknown> = {};
    const secret = new Set<string>();
    for (const [key, value] of Object.entries(exports)) {
        if (pulumi.Output.isInstance(value)) {
            outputs[key] = await new Promise((resolve) => value.apply(resolve));
            if (await pulumi.isSecret(value)) {
                secret.add(key);
            }
        } else {
            outputs[key] = value;
        }
    }
    return { outputs, secret };
}

export interface RunOptions {
    readonly project?: string;
    readonly stack?: string;
    /** Config as `key: value` without the project prefix; values are raw strings as the CLI passes them. */
    readonly config?: Record<string, string>;
    readonly secretConfigKeys?: string[];
    /** What computed values look like: fake but realistic (tests) or placeholders (the plan). Default fake. */
    readonly values?: "fake" | "placeholders";
    /** The stack's outputs from its last deployment, as its self StackReference reads them. Default none (first deployment). */
    readonly lastOutputs?: Record<string, unknown>;
}

/** Records pulumi.log.warn messages during a run (under mocks they would only reach the console). */
function recordWarnings(warnings: string[]): () => void {
    const warn = pulumi.log.warn;
    pulumi.log.warn = async (message: string) => {
        warnings.push(message);
    };
    return () => {
        pulumi.log.warn = warn;
    };
}

/**
 * Runs `body` under mocks (fresh project modules, the given config) and returns what was
 * registered. `body` loads the program or builds components and returns the outputs to resolve.
 */
/** What a program's body gives: its exports, or (a program that awaits something first) their promise. */
type ProgramExports = Record<string, unknown> | Promise<Record<string, unknown>>;

export async function runUnderMocks(options: RunOptions, body: () => ProgramExports): Promise<MockRun> {
    const project = options.project ?? "etcd-aws";
    const stack = options.stack ?? "test";
    const resources: RecordedResource[] = [];
    const invokes: MockRun["invokes"] = [];
    const meta = new Map<string, RegistrationMeta>();
    const warnings: string[] = [];
    const last = { outputs: options.lastOutputs };
    const cloud: CloudValues = options.values === "placeholders" ? placeholderCloudValues(last) : fakeCloudValues(last);
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
                const secretInputs = new Set(
                    Object.entries(args.inputs)
                        .filter(([, v]) => unwrap(v).secret)
                        .map(([k]) => k),
                );
                const inputs = unwrapInputs(args.inputs);
                const state = { ...inputs, ...cloud.state(args.type, args.name, inputs) };
                const id = cloud.id(args.type, args.name);
                const registration = meta.get(`${args.type}::${args.name}`) ?? {
                    parent: "",
                    parentType: "",
                    dependencies: new Set<string>(),
                    deleteBeforeReplace: false,
                    ignoreChanges: [],
                    retainOnDelete: false,
                };
                resources.push({ type: args.type, name: args.name, inputs, secretInputs, id, state, ...registration });
                return { id, state };
            },
            call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
                const inputs = unwrapInputs(args.inputs);
                invokes.push({ token: args.token, inputs });
                return cloud.invoke(args.token, inputs);
            },
        },
        project,
        stack,
        false,
        // The file backend's organization: the program's self StackReference names it.
        "organization",
    );
    recordRegistrations(meta);
    const config = Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [`${project}:${k}`, v]));
    pulumi.runtime.setAllConfig(
        config,
        (options.secretConfigKeys ?? []).map((k) => `${project}:${k}`),
    );
    forgetProjectModules();
    const restoreWarn = recordWarnings(warnings);
    // Pulumi takes a stack trace for every resource and promise; mapped through ts-node's source
    // maps they were most of a run's time. Nothing reads them here (errors keep their messages).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        const exported = await body();
        const { outputs, secret } = await resolveOutputs(exported);
        await settle(resources);
        return { resources, invokes, outputs, secretOutputs: secret, warnings };
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
        restoreWarn();
    }
}

/** Loads the program (index.ts) for a stack whose config is given raw, and runs it as Pulumi does. */
export function runProgram(options: RunOptions): Promise<MockRun> {
    return runUnderMocks(options, () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run (forgetProjectModules), not a static import
        const program: (() => ProgramExports) | Record<string, unknown> = require(path.join(ROOT, "index.ts"));
        // A program that exports a function is called, and what it returns (or resolves to) is exported.
        return typeof program === "function" ? program() : program;
    });
}

export function named(run: MockRun, name: string): RecordedResource {
    const found = run.resources.filter((r) => r.name === name);
    const [only] = found;
    if (only === undefined || found.length !== 1) {
        throw new Error(
            `expected one resource named ${name}, found ${found.length}: ${run.resources.map((r) => r.name).join(", ")}`,
        );
    }
    return only;
}
