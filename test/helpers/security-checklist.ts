// The security checklist of a deployed cluster, evaluated on the mocked resource graph: every
// port open to exactly who needs it, TLS everywhere it is on, IMDSv2, encryption, secrets secret.
import { MockRun, RecordedResource } from "../../plan/mock-engine";
import { flagMap, launchFlags, ofType } from "./cluster";

/** What the cluster was configured with, to judge its graph against. */
export interface SecurityExpectations {
    readonly clusterName: string;
    readonly memberCount: number;
    readonly tls: boolean;
    readonly clientCidrs: readonly string[];
    readonly clientSecurityGroupIds: readonly string[];
    readonly sshCidrs: readonly string[];
    readonly monitoringCidrs: readonly string[];
    readonly allowPublicAccess: boolean;
    readonly ports: { client: number; peer: number; metrics: number };
    /** Names under which the run exposes the secret outputs (program exports or test keys). */
    readonly secretOutputNames: readonly string[];
}

export interface ChecklistItem {
    readonly item: string;
    readonly pass: boolean;
    readonly detail: string;
}

function sourceOf(rule: RecordedResource, groupId: string): string {
    if (rule.inputs.referencedSecurityGroupId === groupId) {
        return "members";
    }
    return rule.inputs.cidrIpv4 ?? rule.inputs.referencedSecurityGroupId;
}

function check(item: string, failures: string[], ok: string): ChecklistItem {
    return { item, pass: failures.length === 0, detail: failures.length === 0 ? ok : failures.join("; ") };
}

export function securityChecklist(run: MockRun, expect: SecurityExpectations): ChecklistItem[] {
    const [group] = ofType(run, "aws:ec2/securityGroup:SecurityGroup").filter(
        (g) => g.name === `${expect.clusterName}-network-sg`,
    );
    const groupId = group?.id ?? "(no security group)";
    const ingress = ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(
        (r) => r.inputs.securityGroupId === groupId,
    );
    const sourcesOn = (port: number): string[] =>
        ingress.filter((r) => r.inputs.fromPort === port && r.inputs.toPort === port).map((r) => sourceOf(r, groupId));
    const unexpected = (port: number, allowed: readonly string[]): string[] =>
        sourcesOn(port)
            .filter((s) => !allowed.includes(s))
            .map((s) => `port ${port} open to ${s}`);
    const knownPorts = [expect.ports.client, expect.ports.peer, expect.ports.metrics, 22];
    const instances = ofType(run, "aws:ec2/instance:Instance").filter((i) =>
        i.parent.startsWith(`${expect.clusterName}-`),
    );
    const members = instances.map((i) => i.name);
    const commands = ofType(run, "command:remote:Command").filter((c) => c.name.startsWith(`${expect.clusterName}-`));
    const scheme = expect.tls ? "https" : "http";
    const appUser: string | undefined = ofType(run, "tls:index/certRequest:CertRequest").find(
        (r) => r.name === `${expect.clusterName}-pki-app-csr`,
    )?.inputs.subject?.commonName;

    const items: ChecklistItem[] = [
        check("a security group guards the members", group ? [] : ["none found"], groupId),
        check(
            `peer port ${expect.ports.peer} open only to members`,
            [
                ...unexpected(expect.ports.peer, ["members"]),
                ...(sourcesOn(expect.ports.peer).includes("members") ? [] : ["members cannot reach each other"]),
            ],
            sourcesOn(expect.ports.peer).join(", "),
        ),
        check(
            `client port ${expect.ports.client} open only to members and configured clients`,
            unexpected(expect.ports.client, ["members", ...expect.clientCidrs, ...expect.clientSecurityGroupIds]),
            sourcesOn(expect.ports.client).join(", "),
        ),
        check(
            "SSH (22) open only to configured operator CIDRs",
            unexpected(22, expect.sshCidrs),
            sourcesOn(22).join(", ") || "closed",
        ),
        check(
            `metrics port ${expect.ports.metrics} open only to monitoring CIDRs`,
            unexpected(expect.ports.metrics, expect.monitoringCidrs),
            sourcesOn(expect.ports.metrics).join(", ") || "closed",
        ),
        check(
            "no other port open",
            ingress.filter((r) => !knownPorts.includes(r.inputs.fromPort)).map((r) => `port ${r.inputs.fromPort}`),
            "none",
        ),
        check(
            "no 0.0.0.0/0 on etcd or SSH ports without allowPublicAccess",
            expect.allowPublicAccess
                ? []
                : ingress
                      .filter((r) => r.inputs.cidrIpv4?.endsWith("/0"))
                      .map((r) => `port ${r.inputs.fromPort} from ${r.inputs.cidrIpv4}`),
            expect.allowPublicAccess ? "allowed explicitly" : "none",
        ),
        check(
            `${expect.memberCount} members`,
            instances.length === expect.memberCount ? [] : [`found ${instances.length}`],
            members.join(", "),
        ),
        check(
            "IMDSv2 required on every instance",
            instances.filter((i) => i.inputs.metadataOptions?.httpTokens !== "required").map((i) => i.name),
            "httpTokens: required",
        ),
        check(
            "root and data volumes encrypted",
            [
                ...instances.filter((i) => i.inputs.rootBlockDevice?.encrypted !== true).map((i) => `${i.name} root`),
                ...ofType(run, "aws:ebs/volume:Volume")
                    .filter((v) => v.parent.startsWith(`${expect.clusterName}-`) && v.inputs.encrypted !== true)
                    .map((v) => v.name),
                ...instances
                    .filter((i) => i.inputs.ebsBlockDevices !== undefined)
                    .map((i) => `${i.name} inline volume`),
            ],
            "all encrypted",
        ),
        check(
            "userData holds only the member's SSH host key, and is secret",
            instances
                .filter(
                    (i) =>
                        !i.secretInputs.has("userData") ||
                        !/^#cloud-config\nssh_keys:\n/.test(i.inputs.userData ?? "") ||
                        /BEGIN CERTIFICATE|BEGIN (RSA |EC )?PRIVATE KEY/.test(i.inputs.userData ?? ""),
                )
                .map((i) => i.name),
            "cloud-config with the host key, secret",
        ),
        check(
            "every SSH connection pins the host's key (and the bastion's)",
            commands
                .filter(
                    (c) =>
                        !c.inputs.connection?.hostKey ||
                        (c.inputs.connection.proxy && !c.inputs.connection.proxy.hostKey),
                )
                .map((c) => c.name),
            `${commands.length} connections pinned`,
        ),
        check(
            `members serve ${scheme} with${expect.tls ? "" : "out"} client and peer certificate checks`,
            members.flatMap((member) => {
                const flags = flagMap(launchFlags(run, member));
                const wrong = [
                    "listen-client-urls",
                    "listen-peer-urls",
                    "advertise-client-urls",
                    "initial-advertise-peer-urls",
                ].filter((f) => !flags[f]?.split(",").every((u) => u.startsWith(`${scheme}://`)));
                const auth = expect.tls
                    ? ["client-cert-auth", "peer-client-cert-auth"]
                          .filter((f) => flags[f] !== "true")
                          .concat(["trusted-ca-file", "peer-trusted-ca-file"].filter((f) => !flags[f]))
                    : [];
                return [...wrong, ...auth].map((f) => `${member}: ${f}`);
            }),
            expect.tls ? "https, client-cert-auth, peer-client-cert-auth, trusted CA" : "plain http (tls off)",
        ),
        check(
            `SRV records are the ${expect.tls ? "-ssl " : "plain "}ones`,
            ofType(run, "aws:route53/record:Record")
                .filter((r) => r.inputs.type === "SRV" && r.parent.startsWith(expect.clusterName))
                .filter((r) => r.inputs.name.includes("-ssl") !== expect.tls)
                .map((r) => r.inputs.name),
            "matching",
        ),
        check(
            "commands' connections and secret-carrying scripts are secret",
            commands.flatMap((c) => [
                ...(c.secretInputs.has("connection") ? [] : [`${c.name} connection`]),
                ...(/-(launch|auth|discovery-size)$/.test(c.name) && !c.secretInputs.has("stdin")
                    ? [`${c.name} stdin`]
                    : []),
            ]),
            `${commands.length} commands checked`,
        ),
        check(
            "commands that carry a token or password print nothing to logs",
            commands
                .filter((c) => /-(auth|discovery-size)$/.test(c.name) && c.inputs.logging !== "none")
                .map((c) => c.name),
            "logging: none",
        ),
        check(
            "the application certificate is not root (root's certificates stay on the members)",
            !expect.tls
                ? []
                : appUser === undefined
                  ? ["no application certificate"]
                  : appUser === "root"
                    ? ["its common name is root"]
                    : [],
            expect.tls ? `common name ${appUser}` : "no certificates (tls off)",
        ),
        check(
            "each member is given only its own private keys (no other member's, the application's or the CA's)",
            foreignKeys(run, expect.clusterName, members),
            `${commands.length} commands' scripts scanned for every key`,
        ),
        check(
            "keys, tokens and passwords are secret outputs",
            expect.secretOutputNames.filter((name) => !run.secretOutputs.has(name)),
            expect.secretOutputNames.join(", "),
        ),
    ];
    return items;
}

/**
 * "<command>: <key>" for each private key of the cluster that a remote command's script carries
 * but its host does not own. A member owns the keys named after it (`<cluster>-pki-<member>-...`);
 * the cluster's own commands (health gate, auth, discovery size) run on the first member.
 */
function foreignKeys(run: MockRun, clusterName: string, members: readonly string[]): string[] {
    const keys = ofType(run, "tls:index/privateKey:PrivateKey").filter((k) => k.name.startsWith(`${clusterName}-pki-`));
    const commands = ofType(run, "command:remote:Command").filter((c) => c.name.startsWith(`${clusterName}-`));
    return commands.flatMap((command) => {
        const host = members.find((member) => command.name.startsWith(`${member}-`)) ?? members[0];
        const script = `${command.inputs.stdin ?? ""}${command.inputs.create ?? ""}`;
        return keys
            .filter((key) => !key.name.startsWith(`${clusterName}-pki-${host}-`))
            .filter((key) => typeof key.state.privateKeyPem === "string" && script.includes(key.state.privateKeyPem))
            .map((key) => `${command.name}: ${key.name}`);
    });
}

/** The checklist as the test prints it. */
export function formatChecklist(title: string, items: readonly ChecklistItem[]): string {
    return [`    ${title}`, ...items.map((i) => `      [${i.pass ? "pass" : "FAIL"}] ${i.item}: ${i.detail}`)].join(
        "\n",
    );
}
