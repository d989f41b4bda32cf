// Renders a mock run of the program as the markdown plan reviewers read: configuration, the
// resource tree, firewall rules, DNS records, each member's etcd flags and the systemd unit,
// every resource's properties, lookups and outputs. Everything is sorted, so the same run gives
// the same bytes and a changed setting changes only the lines that depend on it.
import { HOST_PATHS } from "../core/host-contract";
import { ASSUMED_DEFAULT_SUBNETS } from "./cloud-values";
import { code, fenced, table } from "./markdown";
import { MockRun, RecordedResource } from "./mock-engine";
import { propertyLines, SECRET } from "./properties";
import { summarizeScript, WrittenFile } from "./script-text";

export interface PlanInput {
    readonly stack: string;
    /** The configuration the program ran with, in stack file order. */
    readonly config: { key: string; value: string; secret: boolean }[];
    readonly run: MockRun;
}

const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const RECORD = "aws:route53/record:Record";
const COMMAND = "command:remote:Command";
const ENV_FILE = HOST_PATHS.envFile;

/** "prod-etcd-10" after "prod-etcd-9": numbers compare as numbers. */
function naturalCompare(a: string, b: string): number {
    const chunks = (text: string) => text.match(/\d+|\D+/g) ?? [];
    const [left, right] = [chunks(a), chunks(b)];
    for (const [i, x] of left.entries()) {
        const y = right[i];
        if (y === undefined) {
            break;
        }
        const order = /^\d/.test(x) && /^\d/.test(y) ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
        if (order !== 0) {
            return order;
        }
    }
    return left.length - right.length;
}

function byNameThenType(a: RecordedResource, b: RecordedResource): number {
    return naturalCompare(a.name, b.name) || naturalCompare(a.type, b.type);
}

/** Resources depth first, each parent before its children, siblings by name. */
function treeOrder(resources: readonly RecordedResource[]): { resource: RecordedResource; depth: number }[] {
    const key = (type: string, name: string) => `${type}::${name}`;
    const known = new Set(resources.map((r) => key(r.type, r.name)));
    const children = (parent: RecordedResource | undefined) =>
        resources
            .filter((r) =>
                parent
                    ? r.parent === parent.name && r.parentType === parent.type
                    : !known.has(key(r.parentType, r.parent)),
            )
            .sort(byNameThenType);
    const visit = (resource: RecordedResource, depth: number): { resource: RecordedResource; depth: number }[] => [
        { resource, depth },
        ...children(resource).flatMap((child) => visit(child, depth + 1)),
    ];
    return children(undefined).flatMap((root) => visit(root, 0));
}

function launchFiles(run: MockRun): { command: RecordedResource; files: WrittenFile[] }[] {
    return run.resources
        .filter((r) => r.type === COMMAND && typeof r.inputs.stdin === "string")
        .map((command) => ({ command, files: summarizeScript(command.inputs.stdin).files }))
        .filter(({ files }) => files.some((file) => file.path === ENV_FILE))
        .sort((a, b) => byNameThenType(a.command, b.command));
}

function header(input: PlanInput): string {
    return [
        `# Plan of stack \`${input.stack}\``,
        "",
        `Rendered by \`scripts/plan.sh ${input.stack}\` from \`stacks/Pulumi.${input.stack}.yaml\`: the program (\`index.ts\`) ran under`,
        "Pulumi's mock engine, so this is what `pulumi up` registers. Regenerate every stack's plan with",
        "`scripts/plan.sh --update` and commit the result with the change that caused it.",
        "",
        "- `<...>` marks a value known only at deploy time (IDs, addresses, keys, certificates, tokens,",
        "  lookup results); `<secret>` marks a secret input or output, never shown.",
        "- The launch scripts are secret as a whole (they carry TLS keys): the plan shows the environment",
        "  file and the list of files they write, whose secret parts are placeholders here.",
        `- Lookups of the default VPC assume ${ASSUMED_DEFAULT_SUBNETS} default subnets (one per zone).`,
    ].join("\n");
}

function configSection(input: PlanInput): string {
    const rows = input.config.map((entry) => [code(entry.key), code(entry.secret ? SECRET : entry.value)]);
    return ["## Configuration", "", table(["key", "value"], rows)].join("\n");
}

function warningsSection(run: MockRun): string[] {
    return run.warnings.length === 0
        ? []
        : [["## Warnings", "", ...run.warnings.map((warning) => `- ${warning}`)].join("\n")];
}

function treeSection(run: MockRun): string {
    const lines = treeOrder(run.resources).map(
        ({ resource, depth }) => `${"  ".repeat(depth)}${resource.type} ${resource.name}`,
    );
    return [`## Resources (${run.resources.length})`, "", fenced("text", lines.join("\n"))].join("\n");
}

function rulePeer(rule: RecordedResource): string {
    const inputs = rule.inputs;
    if (inputs.cidrIpv4 !== undefined) {
        return inputs.cidrIpv4;
    }
    return inputs.referencedSecurityGroupId === inputs.securityGroupId
        ? "members (the group itself)"
        : String(inputs.referencedSecurityGroupId);
}

function firewallSection(run: MockRun): string {
    const rules = run.resources
        .filter((r) => r.type === INGRESS || r.type === EGRESS)
        .map((rule) => ({ rule, direction: rule.type === INGRESS ? "in" : "out" }))
        .sort(
            (a, b) =>
                naturalCompare(a.direction, b.direction) ||
                a.rule.inputs.fromPort - b.rule.inputs.fromPort ||
                byNameThenType(a.rule, b.rule),
        );
    const rows = rules.map(({ rule, direction }) => {
        const ports =
            rule.inputs.fromPort === rule.inputs.toPort
                ? `${rule.inputs.fromPort}`
                : `${rule.inputs.fromPort}-${rule.inputs.toPort}`;
        return [
            direction,
            `${rule.inputs.ipProtocol}/${ports}`,
            code(rulePeer(rule)),
            rule.inputs.description ?? "",
            code(rule.name),
        ];
    });
    return ["## Security group rules", "", table(["direction", "port", "peer", "description", "resource"], rows)].join(
        "\n",
    );
}

function dnsSection(run: MockRun): string {
    const records = run.resources
        .filter((r) => r.type === RECORD)
        .sort((a, b) => naturalCompare(a.inputs.type, b.inputs.type) || naturalCompare(a.inputs.name, b.inputs.name));
    const rows = records.map((record) => [
        code(record.inputs.name),
        record.inputs.type,
        String(record.inputs.ttl),
        (record.inputs.records as string[]).map(code).join("<br>"),
        code(record.inputs.zoneId),
    ]);
    return ["## DNS records", "", table(["name", "type", "TTL", "values", "zone"], rows)].join("\n");
}

function memberSection(command: RecordedResource, files: WrittenFile[]): string {
    const env = files.find((file) => file.path === ENV_FILE) as WrittenFile;
    const member = /^ETCD_NAME=(.*)$/m.exec(env.content)?.[1] ?? command.name;
    const fileRows = files.map((file) => [code(file.path), file.mode, file.owner]);
    return [
        `### ${member}`,
        "",
        `Written by ${code(command.name)}. The etcd flags, \`${ENV_FILE}\` (${env.mode} ${env.owner}):`,
        "",
        fenced("sh", env.content),
        "",
        table(["file", "mode", "owner"], fileRows),
    ].join("\n");
}

function unitSection(run: MockRun): string[] {
    const units = new Map<string, { file: WrittenFile; writers: string[] }>();
    for (const command of run.resources
        .filter((r) => r.type === COMMAND && typeof r.inputs.stdin === "string")
        .sort(byNameThenType)) {
        for (const file of summarizeScript(command.inputs.stdin).files.filter((f) => f.path === HOST_PATHS.unitFile)) {
            const key = `${file.path}\n${file.content}`;
            const entry = units.get(key) ?? { file, writers: [] };
            entry.writers.push(command.name);
            units.set(key, entry);
        }
    }
    return [...units.values()].map(({ file, writers }) =>
        [
            `## systemd unit \`${file.path}\``,
            "",
            `${file.mode} ${file.owner}, written by ${writers.map(code).join(", ")}:`,
            "",
            fenced("ini", file.content),
        ].join("\n"),
    );
}

function membersSection(run: MockRun): string {
    return ["## Members", ...launchFiles(run).map(({ command, files }) => memberSection(command, files))].join("\n\n");
}

function resourceDetails(resource: RecordedResource): string {
    const facts = [
        resource.parent ? `parent ${code(`${resource.parentType} ${resource.parent}`)}` : "no parent",
        ...(resource.dependencies.size > 0
            ? [`depends on ${[...resource.dependencies].sort(naturalCompare).map(code).join(", ")}`]
            : []),
        ...Object.entries(resource.customTimeouts ?? {})
            .filter(([, value]) => value)
            .map(([operation, value]) => `${operation} timeout ${value}`),
        // How a replacement proceeds, and what is pinned: what a reviewer of a change needs.
        ...(resource.deleteBeforeReplace ? ["deleted before its replacement is created"] : []),
        ...(resource.ignoreChanges.length > 0
            ? [`changes ignored: ${resource.ignoreChanges.map(code).join(", ")}`]
            : []),
    ];
    const lines = propertyLines(resource.inputs, resource.secretInputs);
    return [
        `### ${resource.type} \`${resource.name}\``,
        "",
        facts.join("; "),
        ...(lines.length > 0 ? ["", fenced("yaml", lines.join("\n"))] : []),
    ].join("\n");
}

function propertiesSection(run: MockRun): string {
    return [
        "## Resource properties",
        "",
        treeOrder(run.resources)
            .map(({ resource }) => resourceDetails(resource))
            .join("\n\n"),
    ].join("\n");
}

function lookupsSection(run: MockRun): string {
    const lines = run.invokes
        .map((invoke) => `${invoke.token} ${propertyLines(invoke.inputs, new Set()).join("; ")}`)
        .sort();
    return ["## Lookups", "", fenced("text", [...new Set(lines)].join("\n") || "(none)")].join("\n");
}

function outputsSection(run: MockRun): string {
    const lines = Object.keys(run.outputs)
        .sort()
        .flatMap((key) =>
            run.secretOutputs.has(key) ? [`${key}: ${SECRET}`] : propertyLines({ [key]: run.outputs[key] }, new Set()),
        );
    return ["## Outputs", "", fenced("yaml", lines.join("\n"))].join("\n");
}

export function renderPlan(input: PlanInput): string {
    const sections = [
        header(input),
        configSection(input),
        ...warningsSection(input.run),
        treeSection(input.run),
        firewallSection(input.run),
        dnsSection(input.run),
        membersSection(input.run),
        ...unitSection(input.run),
        propertiesSection(input.run),
        lookupsSection(input.run),
        outputsSection(input.run),
    ];
    return `${sections.join("\n\n")}\n`;
}
