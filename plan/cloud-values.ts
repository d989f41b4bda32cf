// What the mock engine answers where the cloud would compute a value: resource IDs, computed
// properties the program reads (an apply on a missing one would never run) and lookup results.
// Tests get fake but realistic values they can assert on; the plan gets placeholders that say
// what the value will be, so no invented address or key ends up in a reviewed plan.

export interface CloudValues {
    id(type: string, name: string): string;
    /** Computed properties of a new resource, merged over its inputs. */
    state(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown>;
    /** Result of a lookup (invoke) such as getAmi. */
    invoke(token: string, inputs: Record<string, unknown>): Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The objects in an input that should be a list of objects (filters, block devices); none if it is not. */
function recordsIn(value: unknown): Record<string, unknown>[] {
    return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The AMI name pattern a getAmi lookup filters on, e.g. "ubuntu/images/...-arm64-server-*". */
function amiNamePattern(inputs: Record<string, unknown>): string {
    const values = recordsIn(inputs.filters).find((filter) => filter.name === "name")?.values;
    return String((Array.isArray(values) ? values[0] : undefined) ?? "");
}

/** What the program's self StackReference reads: the stack's outputs from its last deployment. */
export interface LastDeployment {
    readonly outputs?: Record<string, unknown>;
}

/** The outputs a StackReference resolves to (none: a first deployment). */
function stackReferenceState(last: LastDeployment): Record<string, unknown> {
    return { outputs: last.outputs ?? {}, secretOutputNames: [] };
}

/**
 * Fake values for tests: network interface n (in registration order) gets 10.0.n.10 and its
 * Elastic IP 198.51.100.n, IDs are `<name>-id`, SSH host keys `ssh-ed25519 HOSTKEY-<name>`.
 */
export function fakeCloudValues(last: LastDeployment = {}): CloudValues {
    const interfaces = new Map<string, number>();
    return {
        id: (_type, name) => `${name}-id`,
        state(type, name, inputs) {
            switch (type) {
                case "aws:ec2/networkInterface:NetworkInterface": {
                    const n = interfaces.size + 1;
                    interfaces.set(`${name}-id`, n);
                    return { privateIp: `10.0.${n}.10` };
                }
                case "aws:ec2/eip:Eip":
                    return { publicIp: `198.51.100.${interfaces.get(String(inputs.networkInterface)) ?? 0}` };
                case "pulumi:pulumi:StackReference":
                    return stackReferenceState(last);
                case "aws:iam/instanceProfile:InstanceProfile":
                    return { name: `${name}-name` };
                case "random:index/randomPassword:RandomPassword":
                    return {
                        result: `${name
                            .replace(/[^a-z0-9]/g, "")
                            .padEnd(32, "0")
                            .slice(0, 32)}`,
                    };
                case "aws:route53/zone:Zone":
                    return { zoneId: `Z-${name}` };
                case "tls:index/privateKey:PrivateKey":
                    return {
                        privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${name}\n-----END PRIVATE KEY-----\n`,
                        publicKeyPem: `PUBLIC ${name}`,
                        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
                        publicKeyOpenssh: `ssh-ed25519 HOSTKEY-${name}\n`,
                    };
                case "tls:index/selfSignedCert:SelfSignedCert":
                case "tls:index/locallySignedCert:LocallySignedCert":
                    return { certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n` };
                case "tls:index/certRequest:CertRequest":
                    return { certRequestPem: `CSR ${name}` };
                case "command:remote:Command":
                    return { stdout: "", stderr: "" };
                default:
                    return {};
            }
        },
        invoke(token, inputs) {
            switch (token) {
                case "aws:ec2/getVpc:getVpc":
                    return { id: "vpc-default", cidrBlock: "172.31.0.0/16" };
                case "aws:ec2/getSubnets:getSubnets":
                    return { ids: ["subnet-c", "subnet-a", "subnet-b"] };
                case "aws:ec2/getAmi:getAmi":
                    return { id: `ami-${amiNamePattern(inputs).includes("arm64") ? "arm64" : "amd64"}` };
                case "aws:ec2/getSubnet:getSubnet": {
                    // "subnet-zone<x>-..." lies in zone eu-west-1<x>; any other subnet in a zone of its own.
                    const zone = /^subnet-zone([a-z])-/.exec(String(inputs.id))?.[1];
                    return { availabilityZone: zone ? `eu-west-1${zone}` : `zone of ${inputs.id}` };
                }
                default:
                    return {};
            }
        },
    };
}

/** How a placeholder names a resource's kind, e.g. "<instance prod-etcd-0 private IP>". */
const RESOURCE_KINDS: Record<string, string> = {
    "aws:ec2/instance:Instance": "instance",
    "aws:ec2/networkInterface:NetworkInterface": "network interface",
    "aws:ec2/eip:Eip": "elastic IP",
    "aws:ebs/volume:Volume": "volume",
    "aws:ec2/volumeAttachment:VolumeAttachment": "volume attachment",
    "aws:ec2/securityGroup:SecurityGroup": "security group",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress rule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress rule",
    "aws:route53/zone:Zone": "zone",
    "aws:route53/record:Record": "record",
    "random:index/randomPassword:RandomPassword": "random password",
    "tls:index/privateKey:PrivateKey": "private key",
    "tls:index/selfSignedCert:SelfSignedCert": "certificate",
    "tls:index/locallySignedCert:LocallySignedCert": "certificate",
    "tls:index/certRequest:CertRequest": "CSR",
    "command:remote:Command": "command",
};

function kindOf(type: string): string {
    return RESOURCE_KINDS[type] ?? type.slice(type.lastIndexOf(":") + 1);
}

/**
 * Three zones is what the stacks' region (eu-west-1) has; the real count only changes which
 * default subnet a member lands in, and the plan says so in its notes.
 */
export const ASSUMED_DEFAULT_SUBNETS = 3;

/** Placeholders for the plan: `<kind name what>`, the same on every run and machine. */
export function placeholderCloudValues(last: LastDeployment = {}): CloudValues {
    return {
        id: (type, name) => `<${kindOf(type)} ${name} ID>`,
        state(type, name) {
            const of = (what: string): string => `<${kindOf(type)} ${name} ${what}>`;
            switch (type) {
                case "aws:ec2/networkInterface:NetworkInterface":
                    return { privateIp: of("private IP") };
                case "aws:ec2/eip:Eip":
                    return { publicIp: of("public IP") };
                case "pulumi:pulumi:StackReference":
                    return stackReferenceState(last);
                case "random:index/randomPassword:RandomPassword":
                    return { result: of("result") };
                case "aws:route53/zone:Zone":
                    return { zoneId: of("ID") };
                case "tls:index/privateKey:PrivateKey":
                    return {
                        privateKeyPem: of("PEM"),
                        publicKeyPem: of("public PEM"),
                        privateKeyOpenssh: of("OpenSSH"),
                        publicKeyOpenssh: of("public key line"),
                    };
                case "tls:index/selfSignedCert:SelfSignedCert":
                case "tls:index/locallySignedCert:LocallySignedCert":
                    return { certPem: of("PEM") };
                case "tls:index/certRequest:CertRequest":
                    return { certRequestPem: of("PEM") };
                case "command:remote:Command":
                    return { stdout: of("stdout"), stderr: of("stderr") };
                default:
                    return {};
            }
        },
        invoke(token, inputs) {
            switch (token) {
                case "aws:ec2/getVpc:getVpc":
                    return { id: "<default VPC ID>", cidrBlock: "<default VPC CIDR>" };
                case "aws:ec2/getSubnets:getSubnets":
                    return {
                        ids: Array.from(
                            { length: ASSUMED_DEFAULT_SUBNETS },
                            (_, i) => `<default subnet of zone ${i + 1}>`,
                        ),
                    };
                case "aws:ec2/getAmi:getAmi":
                    return { id: `<newest AMI ${amiNamePattern(inputs)}>` };
                case "aws:ec2/getSubnet:getSubnet":
                    return { availabilityZone: `<zone of ${inputs.id}>` };
                default:
                    return {};
            }
        },
    };
}
