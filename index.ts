// The Pulumi program: reads the stack's configuration, validates all of it at once, creates
// one EtcdCluster and exports what operators and other stacks need.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { clusterTokenInStackFile, formatProblems, readStackConfig } from "./core";
import { asStackProblem, unknownConfigKeys } from "./core/stack-config";
import { EtcdCluster, EtcdClusterArgs, validateClusterArgs } from "./components";

const project = pulumi.getProject();
const stack = pulumi.getStack();
const config = new pulumi.Config();
// Keys that can hold a credential (CREDENTIAL_KEYS) are read in clear for validation only: the
// cluster keeps every resource input they reach secret, whether or not they were set with --secret.
const { config: stackConfig, problems } = readStackConfig((key) => config.get(key));

/** Tokens set explicitly in the other stacks' files: a copied token would merge clusters. */
function otherStacksTokens(): string[] {
    const dir = path.join(process.cwd(), "stacks");
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs
        .readdirSync(dir)
        .filter((file) => /^Pulumi\..+\.yaml$/.test(file) && file !== `Pulumi.${stack}.yaml`)
        .flatMap((file) => {
            let token: string | undefined;
            try {
                token = clusterTokenInStackFile(project, fs.readFileSync(path.join(dir, file), "utf8"));
            } catch (error) {
                throw new pulumi.RunError(
                    `stacks/${file} is not valid YAML, so its clusterToken cannot be checked: ${(error as Error).message}`,
                );
            }
            return token ? [token] : [];
        });
}

const sshPrivateKey = config.getSecret("sshPrivateKey");
const args: EtcdClusterArgs = {
    ...stackConfig.settings,
    vpcId: stackConfig.vpcId,
    subnetIds: stackConfig.subnetIds,
    clientSecurityGroupIds: stackConfig.clientSecurityGroupIds,
    zoneId: stackConfig.zoneId,
    amiId: stackConfig.amiId,
    kmsKeyId: stackConfig.kmsKeyId,
    healthTimeoutSeconds: stackConfig.healthTimeoutSeconds,
    reservedClusterTokens: otherStacksTokens(),
    ssh: {
        user: stackConfig.sshUser,
        keyName: stackConfig.sshKeyName,
        privateKey: sshPrivateKey as pulumi.Output<string>,
        bastion: stackConfig.bastionHost ? { host: stackConfig.bastionHost, user: stackConfig.bastionUser } : undefined,
    },
    tags: { "pulumi:project": project, "pulumi:stack": stack },
};

// Unknown keys, malformed values and bad settings are reported together, in the stack's own
// key names, before anything is registered.
const validation = validateClusterArgs(stackConfig.clusterName, args);
const allProblems = [
    ...unknownConfigKeys(project, Object.keys(pulumi.runtime.allConfig())),
    ...problems,
    ...validation.problems.map(asStackProblem),
];
if (allProblems.length > 0) {
    throw new pulumi.RunError(formatProblems(`stack "${stack}"`, allProblems));
}

// Its warnings name settings the stack spells the same way (instanceType, subnetIds, tls, extraFlags).
const cluster = new EtcdCluster(stackConfig.clusterName, args);

export const clientEndpoints = cluster.clientEndpoints;
export const memberNames = cluster.memberNames;
export const memberPrivateIps = cluster.memberPrivateIps;
export const instanceIds = cluster.instanceIds;
export const securityGroupId = cluster.securityGroupId;
export const zoneId = cluster.zoneId;
export const domain = cluster.domain;
export const clusterToken = cluster.clusterToken;
export const etcdVersion = cluster.etcdVersion;
export const bootstrapMode = cluster.bootstrapMode;
export const discoveryToken = cluster.discoveryToken;
export const caCertPem = cluster.caCertPem;
export const clientCertPem = cluster.clientCertPem;
export const clientKeyPem = cluster.clientKeyPem;
export const rootPassword = cluster.rootPassword;
