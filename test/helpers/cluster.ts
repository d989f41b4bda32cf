// Builds EtcdCluster components under mocks, and reads the rendered artifacts back out of
// the recorded graph.
import * as path from "path";
import type { EtcdClusterArgs, EtcdClusterConfigError } from "../../components";
import { EtcdFlag } from "../../core";
import { parseEnvFile } from "../../core/flags";
import { MockRun, named, RecordedResource, runUnderMocks } from "../../plan/mock-engine";
import { group } from "./elements";

const ROOT = path.resolve(__dirname, "../..");

export const SSH = { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----" };

/** Creates one or more clusters (fresh modules) and resolves their outputs. */
export function runClusters(
    clusters: { name: string; args: Partial<EtcdClusterArgs> }[],
    stack = "test",
): Promise<MockRun> {
    return runUnderMocks({ stack }, () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run (runUnderMocks forgets the project modules), not a static import
        const { EtcdCluster } = require(path.join(ROOT, "components")) as typeof import("../../components");
        const outputs: Record<string, unknown> = {};
        for (const { name, args } of clusters) {
            const cluster = new EtcdCluster(name, { ssh: SSH, ...args } as EtcdClusterArgs);
            outputs[`${name}.clientEndpoints`] = cluster.clientEndpoints;
            outputs[`${name}.discoveryToken`] = cluster.discoveryToken;
            outputs[`${name}.clientKeyPem`] = cluster.clientKeyPem;
            outputs[`${name}.memberPrivateIps`] = cluster.memberPrivateIps;
            outputs[`${name}.diskChecks`] = cluster.diskChecks;
        }
        return outputs;
    });
}

export function runCluster(args: Partial<EtcdClusterArgs>, name = "test-etcd"): Promise<MockRun> {
    return runClusters([{ name, args }]);
}

/** Runs `args` and returns the error the constructor throws (fails when none is thrown). */
export async function constructionError(
    args: Partial<EtcdClusterArgs>,
    name = "test-etcd",
): Promise<{ error: EtcdClusterConfigError; run?: MockRun }> {
    let thrown: unknown;
    const run = await runUnderMocks({}, () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run (runUnderMocks forgets the project modules), not a static import
        const { EtcdCluster } = require(path.join(ROOT, "components")) as typeof import("../../components");
        try {
            new EtcdCluster(name, { ssh: SSH, ...args } as EtcdClusterArgs);
        } catch (error) {
            thrown = error;
        }
        return {};
    });
    if (!thrown) {
        throw new Error("expected the cluster to refuse its arguments");
    }
    if (!isConfigError(thrown)) {
        throw new Error(
            `expected the cluster to refuse its arguments with an EtcdClusterConfigError, got ${String(thrown)}`,
            {
                cause: thrown,
            },
        );
    }
    return { error: thrown, run };
}

/** Whether `error` is an EtcdClusterConfigError: by its shape, as it comes from a fresh load of the module (no instanceof). */
function isConfigError(error: unknown): error is EtcdClusterConfigError {
    return (
        error instanceof Error &&
        error.name === "EtcdClusterConfigError" &&
        Array.isArray((error as { problems?: unknown }).problems)
    );
}

/** The environment file a member's launch command writes, as flags. */
export function launchFlags(run: MockRun, member: string): EtcdFlag[] {
    const script: string = named(run, `${member}-launch`).inputs.stdin;
    const env = /write_host_file \/etc\/etcd\/etcd\.env [^\n]*<<'(\w+)'\n([\s\S]*?)\n\1/.exec(script);
    return parseEnvFile(group(env, 2, `env file in ${member}'s launch script`));
}

export function flagMap(flags: EtcdFlag[]): Record<string, string> {
    return Object.fromEntries(flags.map((flag) => [flag.name, flag.value]));
}

export function ofType(run: MockRun, type: string): RecordedResource[] {
    return run.resources.filter((resource) => resource.type === type);
}
