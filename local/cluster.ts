// A cluster on local hosts, deployed as the Pulumi components deploy it on EC2: core's install
// script on every host, the discovery size registered from a member, core's launch script on
// every host, then core's health gate on the first. Only the transport differs (a mount
// namespace instead of SSH).
import * as path from "path";
import {
    AuthUsers,
    HOST_PATHS,
    ClusterSpec,
    clientUrl,
    HostFile,
    MemberSpec,
    peerUrl,
    PKI_FILES,
    ReleaseSpec,
    renderAuthScript,
    renderDiscoverySizeScript,
    renderHealthGateScript,
    renderInstallScript,
    renderEnvFile,
    renderLaunchScript,
    ResolvedSettings,
} from "../core";
import { MEMBERSHIP_WAIT_SECONDS } from "../core/host-contract";
import { HostOptions, LocalHost } from "./host";
import { RunResult } from "./process";

/** A member and the host it runs on. */
export interface LocalMember {
    readonly member: MemberSpec;
    readonly host: LocalHost;
}

/** A member as `etcdctl member list` reports it. */
export interface ListedMember {
    readonly name: string;
    readonly peerURLs: readonly string[];
    readonly clientURLs: readonly string[];
}

/** The files a member's launch script writes besides its environment file (TLS certificates and keys). */
export type MemberFiles = (member: MemberSpec) => readonly HostFile[];

const NO_FILES: MemberFiles = () => [];

export interface ClusterOptions {
    /** Where the scripts' progress lines go (the CLI shows them; tests keep them quiet). */
    readonly echo?: NodeJS.WritableStream;
    /** The health gate's own timeout. */
    readonly healthTimeoutSeconds: number;
}

const INSTALL_TIMEOUT_MS = 120_000;
const SCRIPT_TIMEOUT_MS = 30_000;
/** A launch may wait for its member (restart, join) up to core's own limit. */
export const LAUNCH_TIMEOUT_MS = (MEMBERSHIP_WAIT_SECONDS + 30) * 1000;
const ETCDCTL_TIMEOUT_MS = 20_000;

export class LocalCluster {
    private constructor(
        readonly settings: ResolvedSettings,
        readonly spec: ClusterSpec,
        readonly members: readonly LocalMember[],
        private readonly dir: string,
        private readonly hostOptions: HostOptions,
        private readonly options: ClusterOptions,
        private readonly memberFiles: MemberFiles = NO_FILES,
    ) {}

    /** Member `index` (0 is the first, which runs the cluster-wide scripts); throws when there is none. */
    member(index: number): LocalMember {
        const member = this.members[index];
        if (member === undefined) {
            throw new Error(`no member ${index} in this ${this.members.length}-member local cluster`);
        }
        return member;
    }

    /** Fresh hosts under `<dir>/hosts/<member>` for the spec's members. */
    static create(
        dir: string,
        settings: ResolvedSettings,
        spec: ClusterSpec,
        hostOptions: HostOptions,
        options: ClusterOptions,
    ): LocalCluster {
        const members = spec.members.map((member) => ({ member, host: createHost(dir, member, hostOptions) }));
        return new LocalCluster(settings, spec, members, dir, hostOptions, options);
    }

    /**
     * The same deployment re-rendered from changed settings (a flag, the member count): members
     * keep their hosts by name, members new to the spec get fresh hosts.
     */
    withSpec(settings: ResolvedSettings, spec: ClusterSpec): LocalCluster {
        const hosts = new Map(this.members.map(({ member, host }) => [member.name, host]));
        const members = spec.members.map((member) => ({
            member,
            host: hosts.get(member.name) ?? createHost(this.dir, member, this.hostOptions),
        }));
        return new LocalCluster(settings, spec, members, this.dir, this.hostOptions, this.options, this.memberFiles);
    }

    /** The same deployment whose launch scripts write these files (as the component passes its certificates). */
    withFiles(memberFiles: MemberFiles): LocalCluster {
        return new LocalCluster(
            this.settings,
            this.spec,
            this.members,
            this.dir,
            this.hostOptions,
            this.options,
            memberFiles,
        );
    }

    /** Another host rendered from the same spec but not in it (a member beyond the plan). */
    extraMember(member: MemberSpec): LocalMember {
        return { member, host: createHost(this.dir, member, this.hostOptions) };
    }

    get release(): ReleaseSpec {
        return {
            version: this.settings.version,
            arch: "amd64",
            mirrorBaseUrl: this.settings.mirrorBaseUrl,
            sha256: this.settings.etcdSha256,
        };
    }

    private async runScript(
        target: LocalMember,
        what: string,
        script: string,
        timeoutMs: number,
        args: readonly string[] = [],
    ): Promise<RunResult> {
        const result = await target.host.runScript(script, { timeoutMs, echo: this.options.echo }, args);
        if (result.code !== 0) {
            const why = result.timedOut ? `timed out after ${timeoutMs / 1000} s` : `exited with ${result.code}`;
            throw new Error(`${what} on ${target.member.name} ${why}:\n${result.stderr}${result.stdout}`);
        }
        return result;
    }

    /** core's install script on each host, no data volume (the host's /var/lib/etcd is private). */
    async install(targets: readonly LocalMember[] = this.members): Promise<void> {
        await Promise.all(
            targets.map((target) =>
                this.runScript(
                    target,
                    "install",
                    renderInstallScript({
                        release: this.release,
                        memberName: target.member.name,
                        clusterName: this.spec.clusterName,
                    }),
                    INSTALL_TIMEOUT_MS,
                ),
            ),
        );
    }

    /** Registers the discovery size from the first member, as the component does after its install. */
    async registerDiscoverySize(): Promise<void> {
        if (this.spec.discovery?.registerSize) {
            await this.runScript(
                this.member(0),
                "discovery size registration",
                renderDiscoverySizeScript(this.spec),
                SCRIPT_TIMEOUT_MS,
            );
        }
    }

    /**
     * core's launch script on each host, as the launch command runs it: with --bootstrap on first
     * creation (members start etcd and return at once), without it on later runs (restart one
     * member keeping quorum, or join the running cluster).
     */
    async launch(
        targets: readonly LocalMember[] = this.members,
        phase: "create" | "update" = "create",
    ): Promise<RunResult[]> {
        const args = phase === "create" ? ["--bootstrap"] : [];
        return Promise.all(
            targets.map((target) =>
                this.runScript(
                    target,
                    "launch",
                    renderLaunchScript(this.spec, target.member, this.memberFiles(target.member)),
                    LAUNCH_TIMEOUT_MS,
                    args,
                ),
            ),
        );
    }

    /** The leave script the launch installed, on each host at once (as Pulumi deletes launch commands). */
    async leave(targets: readonly LocalMember[]): Promise<RunResult[]> {
        return Promise.all(
            targets.map((target) =>
                this.runScript(target, "leave", `exec ${HOST_PATHS.leaveScript}\n`, LAUNCH_TIMEOUT_MS),
            ),
        );
    }

    /** `systemctl <verb> etcd.service` on each host, as an operator (or a crash and reboot) would. */
    async systemctl(targets: readonly LocalMember[], verb: "start" | "stop"): Promise<void> {
        await Promise.all(
            targets.map((target) =>
                this.runScript(target, `systemctl ${verb}`, `systemctl ${verb} etcd.service\n`, SCRIPT_TIMEOUT_MS),
            ),
        );
    }

    /**
     * Starts etcd on each host straight from its rendered environment file, without the launch
     * script's membership logic: how the guide's hand-run members start (for its error cases).
     */
    async startWithRenderedFlags(targets: readonly LocalMember[]): Promise<void> {
        await Promise.all(
            targets.map((target) =>
                this.runScript(
                    target,
                    "start with rendered flags",
                    `set -euo pipefail\ncat >${HOST_PATHS.envFile} <<'ENV'\n${renderEnvFile(this.spec, target.member)}ENV\nsystemctl start etcd.service\n`,
                    SCRIPT_TIMEOUT_MS,
                ),
            ),
        );
    }

    /** core's health gate on the first member; throws with its report when it gives up. */
    async healthGate(): Promise<string> {
        const script = renderHealthGateScript(this.spec, { timeoutSeconds: this.options.healthTimeoutSeconds });
        const timeoutMs = (this.options.healthTimeoutSeconds + 30) * 1000;
        return (await this.runScript(this.member(0), "health gate", script, timeoutMs)).stdout;
    }

    /** core's auth script on the first member, as the component runs it after the health gate (root, the application's user and role). */
    async enableAuth(users: AuthUsers): Promise<string> {
        return (await this.runScript(this.member(0), "auth", renderAuthScript(this.spec, users), SCRIPT_TIMEOUT_MS))
            .stderr;
    }

    /**
     * Install, size registration, launch, health gate. Returns the seconds from starting the launch
     * scripts to the gate passing; a failure carries every member's last log lines.
     */
    async bringUp(): Promise<number> {
        try {
            await this.install();
            await this.registerDiscoverySize();
            const started = process.hrtime.bigint();
            await this.launch();
            await this.healthGate();
            return Number(process.hrtime.bigint() - started) / 1e9;
        } catch (error) {
            throw new Error(`${(error as Error).message}\n${this.logs()}`, { cause: error });
        }
    }

    /** Each member's last etcd log lines, for a failure report. */
    logs(lines = 15): string {
        return this.members
            .map(({ member, host }) => `--- ${member.name} (${host.address}) etcd log:\n${host.etcdLog(lines)}`)
            .join("\n");
    }

    /**
     * Runs etcdctl (v3 API) on member `index`'s host against that member, with the host's client
     * certificate when the cluster uses TLS (as the scripts do); throws when it fails.
     */
    async etcdctl(index: number, args: readonly string[]): Promise<RunResult> {
        const { host, member } = this.member(index);
        const command = ["etcdctl", `--endpoints=${clientUrl(this.spec, member)}`, "--command-timeout=10s", ...args];
        const tls = this.spec.tls
            ? { ETCDCTL_CACERT: PKI_FILES.ca, ETCDCTL_CERT: PKI_FILES.clientCert, ETCDCTL_KEY: PKI_FILES.clientKey }
            : {};
        const result = await host.exec(command, { timeoutMs: ETCDCTL_TIMEOUT_MS, env: { ETCDCTL_API: "3", ...tls } });
        if (result.code !== 0) {
            throw new Error(`${command.join(" ")} on ${host.name} failed:\n${result.stderr}${result.stdout}`);
        }
        return result;
    }

    /** The keys under `prefix` that member `index` holds itself (a serializable read: no quorum, no leader). */
    async keysOn(index: number, prefix: string): Promise<string[]> {
        const { stdout } = await this.etcdctl(index, ["get", prefix, "--prefix", "--keys-only", "--consistency=s"]);
        return stdout.split("\n").filter((line) => line !== "");
    }

    async memberList(): Promise<ListedMember[]> {
        const { stdout } = await this.etcdctl(0, ["member", "list", "--write-out=json"]);
        return (JSON.parse(stdout) as { members: ListedMember[] }).members
            .map(({ name, peerURLs, clientURLs }) => ({ name, peerURLs, clientURLs }))
            .sort((a, b) => a.name.localeCompare(b.name));
    }

    /** Each member's ID (hex), name and learner flag, from the plain member list (JSON loses an ID's low digits). */
    async memberIds(): Promise<{ id: string; name: string; learner: boolean }[]> {
        const { stdout } = await this.etcdctl(0, ["member", "list"]);
        return stdout
            .trim()
            .split("\n")
            .map((line) => {
                const [id, , name, , , learner] = line.split(", ");
                if (id === undefined || name === undefined || learner === undefined) {
                    throw new Error(`etcdctl member list printed a line without ID, name and learner flag: ${line}`);
                }
                return { id, name, learner: learner === "true" };
            })
            .sort((a, b) => a.name.localeCompare(b.name));
    }

    /** The member list the spec prescribes: every member with the URLs it advertises. */
    expectedMemberList(): ListedMember[] {
        return this.spec.members.map((member) => ({
            name: member.name,
            peerURLs: [peerUrl(this.spec, member)],
            clientURLs: [clientUrl(this.spec, member)],
        }));
    }

    /** `etcdctl endpoint health` of each member from its own host; throws for an unhealthy one. */
    async endpointHealth(): Promise<string[]> {
        const results = await Promise.all(this.members.map((_, index) => this.etcdctl(index, ["endpoint", "health"])));
        // 3.4 prints the verdict on stderr, 3.5 on stdout.
        return results.map((result) => `${result.stdout}${result.stderr}`.trim());
    }
}

function createHost(dir: string, member: MemberSpec, options: HostOptions): LocalHost {
    return LocalHost.create(path.join(dir, "hosts", member.name), member.name, member.address, options);
}
