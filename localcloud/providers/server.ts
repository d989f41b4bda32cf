// The gRPC side shared by the local resource providers (random, tls, command, aws): a ResourceProvider server
// built on @pulumi/pulumi's own protobuf stubs rather than @pulumi/pulumi/provider's main(), because Diff must see
// the old *inputs* and return diffs and a detailed diff (the reasons `pulumi preview --diff` and `--json` show).
// The engine starts the plugin, reads the port from its first line of stdout and talks to 127.0.0.1 only.
import * as grpc from "@grpc/grpc-js";
import * as emptyProto from "google-protobuf/google/protobuf/empty_pb";
import * as structProto from "google-protobuf/google/protobuf/struct_pb";
import * as pluginProto from "@pulumi/pulumi/proto/plugin_pb";
import * as providerRpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as providerProto from "@pulumi/pulumi/proto/provider_pb";

/** A property bag as the engine sends it (secrets arrive unwrapped: the server does not accept secrets). */
export type Properties = Record<string, unknown>;

/** The engine's marker for a value that is not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * One row of a resource type's diff table: what a change of `property` does on the real provider, and the
 * upstream source file (with the release or commit read) that says so.
 */
export interface DiffRule {
    property: string;
    change: "replace" | "update";
    source: string;
    /**
     * For an object or a list (set) of objects: only a change of these fields forces the replacement (terraform's
     * ForceNew on nested attributes); a change of any other field updates in place.
     */
    fields?: string[];
    /**
     * A replace row that replaces only when this holds (terraform's customdiff.ForceNewIf / ModifyPlan); it sees the
     * old inputs, the new inputs and the old outputs (state, where computed values such as a primary IP live).
     */
    replaceIf?: (olds: Properties, news: Properties, oldOutputs: Properties) => boolean;
}

/** What a diff decided: the changed properties, and which of them force a replacement. */
export interface DiffResult {
    diffs: string[];
    replaces: string[];
}

/** The old state of a resource as Diff sees it. */
export interface OldState {
    inputs: Properties;
    outputs: Properties;
}

/** One resource type of a local provider. */
export interface ResourceType {
    /** The real provider's defaults, applied by Check so that state holds them as the real provider's does. */
    defaults?: Properties;
    /** Decides update versus replace (see {@link diffByTable}). */
    diff(olds: OldState, news: Properties): DiffResult;
    /** Creates the resource; the outputs are the inputs plus what the resource computes. */
    create(inputs: Properties, urn: string): Promise<{ id: string; outputs: Properties }>;
    /** Updates in place; absent: the outputs are the new inputs over the old outputs. */
    update?(id: string, olds: OldState, news: Properties): Promise<Properties>;
    /** Deletes; receives the old outputs (which hold the old inputs). Absent: nothing to do. */
    delete?(id: string, outputs: Properties): Promise<void>;
    /** Refresh: the outputs as they are now. Absent: unchanged. */
    read?(id: string, outputs: Properties): Properties;
}

/** A provider function (a data source such as aws.ec2.getAmi): the arguments in, the result out. */
export type InvokeFunction = (args: Properties) => Promise<Properties> | Properties;

/**
 * A local provider: the package it stands in for, its version, its resource types and functions by type token,
 * and what it does with the provider's configuration (the stack's `<name>:*` keys, e.g. aws:region).
 */
export interface ProviderSpec {
    name: string;
    version: string;
    resources: Record<string, ResourceType>;
    invokes?: Record<string, InvokeFunction>;
    configure?(config: Properties): void;
}

/** True when `value` is, or contains, a value unknown at preview time. */
export function containsUnknown(value: unknown): boolean {
    return JSON.stringify(value ?? null).includes(UNKNOWN);
}

/** JSON with sorted keys, so that two equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
    return JSON.stringify(value ?? null, (_key, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as Properties).sort(([a], [b]) => a.localeCompare(b)))
            : v,
    );
}

/**
 * The diff the real providers make from their schemas: every input whose value changed (or is unknown) is a
 * diff; it replaces when its table row says "replace". Inputs without a row update in place, as they do on
 * pulumi-go-provider's infer and on terraform attributes without RequiresReplace / ForceNew.
 */
export function diffByTable(
    table: DiffRule[],
    olds: Properties,
    news: Properties,
    oldOutputs: Properties = olds,
): DiffResult {
    const rows = new Map(table.map((row) => [row.property, row]));
    const names = [...new Set([...Object.keys(olds), ...Object.keys(news)])].sort();
    const diffs = names.filter(
        (name) => containsUnknown(news[name]) || canonical(olds[name]) !== canonical(news[name]),
    );
    const replaces = diffs.filter((name) => {
        const row = rows.get(name);
        if (row?.change !== "replace") return false;
        if (row.replaceIf && !row.replaceIf(olds, news, oldOutputs)) return false;
        return !row.fields || containsUnknown(news[name]) || nestedFieldsDiffer(olds[name], news[name], row.fields);
    });
    return { diffs, replaces };
}

/** True when the given fields of an object, or of the objects of a list compared as a set, differ. */
function nestedFieldsDiffer(old: unknown, now: unknown, fields: string[]): boolean {
    const projection = (value: unknown): string[] =>
        (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value])
            .map((item) => canonical(Object.fromEntries(fields.map((field) => [field, (item as Properties)?.[field]]))))
            .sort();
    return canonical(projection(old)) !== canonical(projection(now));
}

/** The resource type token of a URN (`urn:pulumi:stack::project::parent$type::name`). */
export function typeOfUrn(urn: string): string {
    const qualifiedType = urn.split("::")[2];
    if (qualifiedType === undefined) {
        throw new Error(`${urn} is not a resource URN`);
    }
    return qualifiedType.slice(qualifiedType.lastIndexOf("$") + 1);
}

/** A protobuf Struct from the engine as a plain object ({} when absent). */
function toProperties(struct: structProto.Struct | undefined): Properties {
    return struct ? (struct.toJavaScript() as Properties) : {};
}

/** A plain object as a protobuf Struct (through JSON, which drops undefined values Struct would refuse). */
function toStruct(properties: Properties): structProto.Struct {
    return structProto.Struct.fromJavaScript(JSON.parse(JSON.stringify(properties)));
}

/**
 * The detailed diff entry of one changed property, as the engine renders it. A property that is no input (a computed
 * reason such as tls's readyForRenewal) is an output diff: an update of its old output value.
 */
function propertyDiff(name: string, olds: OldState, news: Properties, replace: boolean): providerProto.PropertyDiff {
    const kinds = providerProto.PropertyDiff.Kind;
    const entry = new providerProto.PropertyDiff();
    const isInput = name in olds.inputs || name in news;
    if (isInput && olds.inputs[name] === undefined) entry.setKind(replace ? kinds.ADD_REPLACE : kinds.ADD);
    else if (isInput && news[name] === undefined) entry.setKind(replace ? kinds.DELETE_REPLACE : kinds.DELETE);
    else entry.setKind(replace ? kinds.UPDATE_REPLACE : kinds.UPDATE);
    entry.setInputdiff(isInput);
    return entry;
}

/** Any resource request: each names the resource by URN. */
type Request = {
    getUrn(): string;
};

/** Serves `spec` on a loopback port and prints the port, as the engine expects of a resource plugin. */
export function serveProvider(spec: ProviderSpec): void {
    const resourceType = (request: Request): ResourceType => {
        const token = typeOfUrn(request.getUrn());
        const found = spec.resources[token];
        if (!found) throw new Error(`local ${spec.name} provider: unsupported resource type ${token}`);
        return found;
    };
    const unary =
        <Req, Res>(handle: (request: Req) => Promise<Res> | Res) =>
        (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
            Promise.resolve()
                .then(() => handle(call.request))
                .then(
                    (response) => callback(null, response),
                    (error: Error) => {
                        process.stderr.write(`local ${spec.name} provider: ${error.stack ?? error}\n`);
                        callback({ code: grpc.status.UNKNOWN, details: error.message });
                    },
                );
        };

    const service = {
        getPluginInfo: unary(() => new pluginProto.PluginInfo().setVersion(spec.version)),
        getSchema: unary(() => new providerProto.GetSchemaResponse().setSchema("{}")),
        checkConfig: unary((request: providerProto.CheckRequest) =>
            new providerProto.CheckResponse().setInputs(request.getNews()),
        ),
        diffConfig: unary(() =>
            new providerProto.DiffResponse().setChanges(providerProto.DiffResponse.DiffChanges.DIFF_NONE),
        ),
        // No secrets in (the engine unwraps them and keeps the secret bit of same-named outputs; the SDKs mark
        // the real providers' secret outputs with additionalSecretOutputs), no preview calls of Create/Update.
        // The configuration arrives as `args` (current engines) and as `<package>:config:<key>` variables (older).
        configure: unary((request: providerProto.ConfigureRequest) => {
            const prefix = `${spec.name}:config:`;
            const variables = Object.fromEntries(
                [...request.getVariablesMap().entries()].map(([key, value]) => [key.replace(prefix, ""), value]),
            );
            spec.configure?.({ ...variables, ...toProperties(request.getArgs()) });
            return new providerProto.ConfigureResponse()
                .setAcceptsecrets(false)
                .setAcceptresources(false)
                .setSupportspreview(false);
        }),
        invoke: unary(async (request: providerProto.InvokeRequest) => {
            const token = request.getTok();
            const invoke = spec.invokes?.[token];
            if (!invoke) throw new Error(`local ${spec.name} provider: unsupported function ${token}`);
            return new providerProto.InvokeResponse().setReturn(
                toStruct(await invoke(toProperties(request.getArgs()))),
            );
        }),
        check: unary((request: providerProto.CheckRequest) => {
            const defaults = resourceType(request).defaults ?? {};
            const news = toProperties(request.getNews());
            return new providerProto.CheckResponse().setInputs(toStruct({ ...defaults, ...news }));
        }),
        diff: unary((request: providerProto.DiffRequest) => {
            const olds = { inputs: toProperties(request.getOldInputs()), outputs: toProperties(request.getOlds()) };
            const news = toProperties(request.getNews());
            const { diffs, replaces } = resourceType(request).diff(olds, news);
            const response = new providerProto.DiffResponse()
                .setChanges(
                    diffs.length
                        ? providerProto.DiffResponse.DiffChanges.DIFF_SOME
                        : providerProto.DiffResponse.DiffChanges.DIFF_NONE,
                )
                .setDiffsList(diffs)
                .setReplacesList(replaces)
                .setHasdetaileddiff(true);
            for (const name of diffs) {
                response.getDetaileddiffMap().set(name, propertyDiff(name, olds, news, replaces.includes(name)));
            }
            return response;
        }),
        create: unary(async (request: providerProto.CreateRequest) => {
            const { id, outputs } = await resourceType(request).create(
                toProperties(request.getProperties()),
                request.getUrn(),
            );
            return new providerProto.CreateResponse().setId(id).setProperties(toStruct(outputs));
        }),
        read: unary((request: providerProto.ReadRequest) => {
            const outputs = toProperties(request.getProperties());
            const read = resourceType(request).read;
            return new providerProto.ReadResponse()
                .setId(request.getId())
                .setProperties(toStruct(read ? read(request.getId(), outputs) : outputs))
                .setInputs(request.getInputs());
        }),
        update: unary(async (request: providerProto.UpdateRequest) => {
            const type = resourceType(request);
            const olds = { inputs: toProperties(request.getOldInputs()), outputs: toProperties(request.getOlds()) };
            const news = toProperties(request.getNews());
            const outputs = type.update ? await type.update(request.getId(), olds, news) : { ...olds.outputs, ...news };
            return new providerProto.UpdateResponse().setProperties(toStruct(outputs));
        }),
        delete: unary(async (request: providerProto.DeleteRequest) => {
            await resourceType(request).delete?.(request.getId(), toProperties(request.getProperties()));
            return new emptyProto.Empty();
        }),
        cancel: unary(() => new emptyProto.Empty()),
    };

    const server = new grpc.Server();
    // The methods left out (handshake, construct, call, ...) are answered UNIMPLEMENTED; the engine copes.
    server.addService(providerRpc.ResourceProviderService, service as unknown as grpc.UntypedServiceImplementation);
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error) {
            process.stderr.write(`local ${spec.name} provider: ${error.message}\n`);
            process.exit(1);
        }
        process.stdout.write(`${port}\n`);
    });
}
