// scripts/local-cluster.sh: a 3-member etcd cluster on 127.0.1.10-12, deployed from the same
// rendered artifacts as on EC2 and left running detached. Running it again (or with --down)
// stops it, by the PIDs it recorded, and removes its state. `up`, `preview` and `destroy` are
// the local stack instead: the real Pulumi engine on the program against the local cloud.
import * as dgram from "dgram";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { parseArgs } from "node:util";
import { clientUrl, DEFAULT_PORTS, peerUrl } from "../core";
import { LocalCluster } from "./cluster";
import { buildMirror, localRelease, releaseProblem, startMirror } from "./mirror";
import { LOCAL_DIR, MIRROR_DIR } from "./paths";
import { anyRunning, stopAll, stopAllAndRemove } from "./process";
import { addressPlan, AddressPlan, prepareScenario, resolveScenario, Scenario, ScenarioInput } from "./scenario";
import { v2RegistryUrl } from "./services";

const STATE_DIR = path.join(LOCAL_DIR, "cluster");
const SUBNET = "127.0.1";
const MIRROR_ADDRESS = "127.0.1.1";
const CLUSTER_NAME = "local";
const MODES: readonly Scenario[] = ["static", "dns", "discovery"];
const VERSIONS: Readonly<Record<string, string>> = { "3.4": "3.4.23", "3.5": "3.5.16" };
const USAGE = [
    "usage: scripts/local-cluster.sh [--mode static|dns|discovery] [--version 3.4|3.5] [--down]",
    "       scripts/local-cluster.sh up|preview|destroy [--stack local|local-<name>] [--set key=value]...",
].join("\n");

interface Options {
    readonly mode: Scenario;
    readonly version: string;
    readonly down: boolean;
}

class UsageError extends Error {}

function parseOptions(args: string[]): Options {
    let values: { mode?: string; version?: string; down?: boolean };
    try {
        values = parseArgs({
            args,
            options: {
                mode: { type: "string", default: "static" },
                version: { type: "string", default: "3.5" },
                down: { type: "boolean", default: false },
            },
        }).values;
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    const { mode, version: line, down } = values;
    if (!MODES.includes(mode as Scenario)) {
        throw new UsageError(`--mode takes one of ${MODES.join(", ")}, not ${mode}`);
    }
    const version = line !== undefined && Object.hasOwn(VERSIONS, line) ? VERSIONS[line] : undefined;
    if (version === undefined) {
        throw new UsageError(`--version takes one of ${Object.keys(VERSIONS).join(", ")}, not ${line}`);
    }
    return { mode: mode as Scenario, version, down: down === true };
}

const say = (text: string) => console.log(text);

/** The free-port check of one address:port; a problem sentence, or undefined when it is free. */
function portProblem(address: string, port: number, protocol: "tcp" | "udp"): Promise<string | undefined> {
    const problem = (error: NodeJS.ErrnoException) =>
        error.code === "EADDRINUSE"
            ? `${address}:${port}/${protocol} is in use; see who holds it with \`ss -${protocol === "tcp" ? "t" : "u"}lnp 'sport = :${port}'\` and stop it (if it is an earlier local cluster: scripts/local-cluster.sh --down)`
            : `cannot listen on ${address}:${port}/${protocol} (${error.code}); the 127.0.0.0/8 loopback range must be usable`;
    return new Promise((resolve) => {
        if (protocol === "udp") {
            const socket = dgram.createSocket("udp4");
            socket.once("error", (error) => resolve(problem(error)));
            socket.bind(port, address, () => socket.close(() => resolve(undefined)));
            return;
        }
        const server = net.createServer();
        server.once("error", (error) => resolve(problem(error)));
        server.listen(port, address, () => server.close(() => resolve(undefined)));
    });
}

/** Every address:port the mode's servers will listen on. */
function listeners(mode: Scenario, plan: AddressPlan): [string, number, "tcp" | "udp"][] {
    const members = plan.members.flatMap((address) =>
        Object.values(DEFAULT_PORTS).map((port): [string, number, "tcp"] => [address, port, "tcp"]),
    );
    const dns: [string, number, "tcp" | "udp"][] = [
        [plan.dns, 53, "udp"],
        [plan.dns, 53, "tcp"],
    ];
    const discovery: [string, number, "tcp"][] = [
        [plan.discoveryEtcd, 2379, "tcp"],
        [plan.discoveryEtcd, 2380, "tcp"],
    ];
    return [...members, ...(mode === "dns" ? dns : []), ...(mode === "discovery" ? discovery : [])];
}

/** The scenario's settings as the bring-up will validate them (the mirror's port is not known yet). */
function validationProblem(options: Options, plan: AddressPlan): string | undefined {
    const input = scenarioInput(options, `http://${MIRROR_ADDRESS}`);
    const discovery =
        options.mode === "discovery" ? { serviceUrl: v2RegistryUrl(`http://${plan.discoveryEtcd}:2379`) } : undefined;
    try {
        resolveScenario(input, discovery);
        return undefined;
    } catch (error) {
        return (error as Error).message;
    }
}

function scenarioInput(options: Options, mirrorBaseUrl: string): ScenarioInput {
    return {
        scenario: options.mode,
        version: options.version,
        clusterName: CLUSTER_NAME,
        dir: STATE_DIR,
        subnet: SUBNET,
        mirrorBaseUrl,
    };
}

/** What would stop the cluster from coming up, each with its fix. */
async function preflight(options: Options, plan: AddressPlan): Promise<string[]> {
    const problems: string[] = [];
    const invalid = validationProblem(options, plan);
    if (invalid) {
        problems.push(invalid);
    }
    if (process.getuid?.() !== 0) {
        problems.push("local hosts need mount namespaces (unshare --mount): run as root");
    }
    const release = releaseProblem(localRelease(options.version));
    if (release) {
        problems.push(release);
    }
    if (options.mode === "dns" && !fs.existsSync("/usr/sbin/dnsmasq")) {
        problems.push("/usr/sbin/dnsmasq is missing; run scripts/bootstrap.sh (Debian package dnsmasq-base)");
    }
    for (const [address, port, protocol] of listeners(options.mode, plan)) {
        const problem = await portProblem(address, port, protocol);
        if (problem) {
            problems.push(problem);
        }
    }
    return problems;
}

async function down(): Promise<void> {
    const stopped = await stopAllAndRemove(STATE_DIR);
    say(
        stopped.length > 0
            ? `stopped the local cluster (PIDs ${stopped.join(", ")}) and removed ${STATE_DIR}`
            : "no local cluster is running",
    );
}

function printCluster(cluster: LocalCluster, seconds: number, health: readonly string[]): void {
    const { spec } = cluster;
    const endpoints = cluster.members.map(({ member }) => `http://${member.address}:${spec.ports.client}`).join(",");
    const etcdctl = path.join(localRelease(spec.version.text).binDir, "etcdctl");
    say(
        `\netcd ${spec.version.text} cluster "${spec.clusterName}" is up: ${spec.mode} bootstrap, healthy ${seconds.toFixed(2)} s after the launch scripts started.`,
    );
    say("members:");
    for (const { member } of cluster.members) {
        say(`  ${member.name}  ${member.address}  client ${clientUrl(spec, member)}  peer ${peerUrl(spec, member)}`);
    }
    say("health:");
    health.forEach((line) => say(`  ${line}`));
    if (spec.mode === "dns") {
        say(
            `  (the names resolve through dnsmasq at ${addressPlan(SUBNET).dns}, the hosts' nameserver; from here use the addresses)`,
        );
    }
    say("use it:");
    say(`  ETCDCTL_API=3 ${etcdctl} --endpoints ${endpoints} member list`);
    say(`logs: ${path.join(STATE_DIR, "hosts", "<member>", "var/log/etcd.log")}`);
    say("stop it: scripts/local-cluster.sh --down");
}

async function up(options: Options): Promise<void> {
    const plan = addressPlan(SUBNET);
    const problems = await preflight(options, plan);
    if (problems.length > 0) {
        throw new Error(`cannot start the local cluster:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    fs.rmSync(STATE_DIR, { recursive: true, force: true });
    say(`building the release mirror in ${MIRROR_DIR}`);
    buildMirror(MIRROR_DIR);
    const mirror = await startMirror(MIRROR_DIR, MIRROR_ADDRESS);
    say(`serving it at ${mirror.baseUrl} while the members install etcd ${options.version}`);
    try {
        say(`preparing ${options.mode} bootstrap on ${plan.members.join(", ")}`);
        const cluster = await prepareScenario(scenarioInput(options, mirror.baseUrl), {
            echo: process.stdout,
            healthTimeoutSeconds: 60,
        });
        const seconds = await cluster.bringUp();
        printCluster(cluster, seconds, await cluster.endpointHealth());
    } catch (error) {
        const stopped = await stopAll(STATE_DIR);
        throw new Error(
            `${(error as Error).message}\nstopped what had started (PIDs ${stopped.join(", ") || "none"}); logs are kept in ${STATE_DIR}`,
            {
                cause: error,
            },
        );
    } finally {
        await mirror.close();
    }
}

/** The local stack's commands (the real Pulumi engine against the local cloud: localcloud/stack-cli.ts). */
const STACK_COMMANDS: readonly string[] = ["up", "preview", "destroy"];

async function main(args: string[]): Promise<number> {
    if (args[0] !== undefined && STACK_COMMANDS.includes(args[0])) {
        // Loaded only for these: the plain local cluster needs none of the engine's side.
        const { stackMain } = await import("../localcloud/stack-cli");
        return stackMain(args);
    }
    const options = parseOptions(args);
    if (options.down || anyRunning(STATE_DIR)) {
        if (!options.down) {
            say("a local cluster is running: stopping it (run the command again to start a new one)");
        }
        await down();
        return 0;
    }
    await up(options);
    return 0;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
        if (error instanceof UsageError) {
            console.error(`${error.message}\n${USAGE}`);
            process.exit(2);
        }
        console.error(`error: ${error.message}`);
        process.exit(1);
    },
);
