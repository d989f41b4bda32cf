import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ClusterSpec, renderDiscoverySizeScript } from "../core";
import { RUN_SCRIPT_COMMAND } from "../core/host-contract";

export interface EtcdDiscoveryArgs {
    /** The cluster's spec for a given token (the registration script is rendered from it). Required. */
    specForToken: (token: string) => ClusterSpec;
    /** Whether to register the size (false for a ready discovery URL). Required. */
    registerSize: boolean;
    /** SSH connection of the member that registers the size (it has etcdctl and curl installed). Required. */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Resources the registration waits for (that member's install). Default none. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The cluster's discovery token (random, secret) and, before any member starts, the size
 * registered under it on the discovery service: members then join up to that size and no more.
 */
export class EtcdDiscovery extends pulumi.ComponentResource {
    /** The discovery token (secret: whoever holds it can join the cluster). */
    public readonly token: pulumi.Output<string>;
    /** The registration command, undefined when no size is registered; members start after it. */
    public readonly registration?: command.remote.Command;

    constructor(name: string, args: EtcdDiscoveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd-aws:index:EtcdDiscovery", name, {}, opts);
        // RandomPassword, not RandomId: its result is a secret in the state, RandomId's outputs never are.
        const token = new random.RandomPassword(
            `${name}-token`,
            { length: 32, special: false, upper: false },
            { parent: this },
        );
        this.token = pulumi.secret(token.result);
        if (args.registerSize) {
            this.registration = new command.remote.Command(
                `${name}-size`,
                {
                    connection: args.connection,
                    create: RUN_SCRIPT_COMMAND,
                    stdin: pulumi.secret(
                        this.token.apply((token) => renderDiscoverySizeScript(args.specForToken(token))),
                    ),
                    // The token is in the script; keep the command's output out of logs as well.
                    logging: "none",
                    addPreviousOutputInEnv: false,
                },
                { parent: this, dependsOn: args.dependsOn, additionalSecretOutputs: ["stdout", "stderr"] },
            );
        }
        this.registerOutputs({ token: this.token });
    }
}
