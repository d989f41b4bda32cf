// The Pulumi program: reads the stack's configuration, validates all of it at once, creates
// one EtcdCluster and exports what operators and other stacks need.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { clusterTokenInStackFile, formatProblems, readStackConfig } from "./core";
import { rollingFromLastMemberNames } from "./core/deployment";
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

/**
 * An output of this stack's last deployment (undefined on the first), read through a
 * StackReference to the stack itself: what already runs decides how a change may proceed.
 */
let lastDeployment: pulumi.StackReference | undefined;
function lastDeploymentOutput(name: string): pulumi.Output<unknown> {
    lastDeployment ??= new pulumi.StackReference("last-deployment", {
        name: `${pulumi.getOrganization()}/${project}/${stack}`,
    });
    return lastDeployment.getOutput(name);
}

/** What `read` makes of the last deployment's output `name` (it gets undefined on the first deployment). */
function lastDeployed<T>(name: string, read: (value: unknown) => T | undefined): Promise<T | undefined> {
    return new Promise((resolve) => lastDeploymentOutput(name).apply((value) => resolve(read(value))));
}

/** How many members the last deployment has (its `memberNames`; undefined on the first). */
const runningMemberCount = (): Promise<number | undefined> =>
    lastDeployed("memberNames", (value) => (Array.isArray(value) ? value.length : undefined));

/** The etcd release the members run: the last deployment's `etcdVersion` (undefined on the first). */
const runningVersion = (): Promise<string | undefined> =>
    lastDeployed("etcdVersion", (value) => (typeof value === "string" && value !== "" ? value : undefined));

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
        bastion: stackConfig.bastionHost
            ? {
                  host: stackConfig.bastionHost,
                  user: stackConfig.bastionUser,
                  // Missing: refused below (bastionHostKey), before anything is registered.
                  hostKey: stackConfig.bastionHostKey as string,
              }
            : undefined,
    },
    privateEgress: stackConfig.privateEgress,
    // Members exist: changes that stop or replace instances go one member at a time.
    rolling: lastDeploymentOutput("memberNames").apply(rollingFromLastMemberNames),
    tags: { "pulumi:project": project, "pulumi:stack": stack },
};

/**
 * Validates everything, the change from the release that runs included, and reports every problem
 * together in the stack's own key names before any resource of the cluster is registered; then
 * creates the cluster. Pulumi awaits it and exports what it returns.
 */
async function deploy(): Promise<Record<string, pulumi.Output<unknown>>> {
    const validation = validateClusterArgs(stackConfig.clusterName, args, {
        runningVersion: await runningVersion(),
        runningMemberCount: await runningMemberCount(),
    });
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
    return {
        clientEndpoints: cluster.clientEndpoints,
        memberNames: cluster.memberNames,
        memberPrivateIps: cluster.memberPrivateIps,
        instanceIds: cluster.instanceIds,
        securityGroupId: cluster.securityGroupId,
        zoneId: cluster.zoneId,
        domain: cluster.domain,
        clusterToken: cluster.clusterToken,
        etcdVersion: cluster.etcdVersion,
        bootstrapMode: cluster.bootstrapMode,
        discoveryToken: cluster.discoveryToken,
        caCertPem: cluster.caCertPem,
        clientCertPem: cluster.clientCertPem,
        clientKeyPem: cluster.clientKeyPem,
        clientUser: cluster.clientUser,
        rootPassword: cluster.rootPassword,
        diskChecks: cluster.diskChecks,
    };
}

export = deploy;
