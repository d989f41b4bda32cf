// Stand-ins for the tools the host scripts call (etcdctl, journalctl, systemctl), for running a
// script of host/ as it is, from the checkout, against a temporary ETCD_AWS_ROOT.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fakeBin, tempDir } from "../core/helpers";

export const HOST_DIR = path.resolve(__dirname, "../../host");

/**
 * etcdctl answers from queues: the nth call of a kind gets the nth answer given for it (the last
 * one again once they run out). Kinds: "member list", "endpoint status", "endpoint health",
 * "member remove"; "lock" is free at once (the stand-in runs the command given after the key, or
 * holds it until killed without one); "endpoint health" and "member remove" succeed unless told
 * otherwise, other kinds fail without an answer. Each call is logged.
 */
/** The nth call of $kind gets the nth answer queued for it (the last one again once they run out). */
const ANSWER_FROM_QUEUE = `count=$(($(cat "$STANDIN_DIR/$kind.count" 2>/dev/null || echo 0) + 1))
echo "$count" >"$STANDIN_DIR/$kind.count"
answer=$STANDIN_DIR/$kind.$count
[ -e "$answer" ] || answer=$(ls -v "$STANDIN_DIR/$kind".[0-9]* 2>/dev/null | tail -n 1)
[ -n "$answer" ] || exit 1
tail -n +2 "$answer"
exit "$(head -n 1 "$answer")"`;

const ETCDCTL = `echo "etcdctl $*" >>"$STANDIN_DIR/calls"
case "$*" in
    *"member list"*) kind=member-list ;;
    *"endpoint status"*) kind=endpoint-status ;;
    *"endpoint health"*) kind=endpoint-health ;;
    *"member remove"*) kind=member-remove ;;
    *" lock "*) # the lock is free: run the command given after the key, or hold it until killed
        while [ "$1" != lock ]; do shift; done; shift
        if [ "$1" = --ttl ]; then shift 2; fi
        shift
        if [ "$#" -gt 0 ]; then exec "$@"; fi
        echo "etcd-aws/membership/694d77a1c2e3f4b5"; exec sleep 30 ;;
    *) exit 0 ;;
esac
${ANSWER_FROM_QUEUE}`;

/** curl answers GETs of etcd's /version and /metrics from queues as etcdctl does (kinds "curl version", "curl metrics"). */
const CURL = `echo "curl $*" >>"$STANDIN_DIR/calls"
for url in "$@"; do :; done
kind=curl-\${url##*/}
${ANSWER_FROM_QUEUE}`;

export interface Answer {
    readonly stdout?: string;
    readonly status?: number;
}

export type Kind =
    "member list" | "endpoint status" | "endpoint health" | "member remove" | "curl version" | "curl metrics";

export class StandIns {
    readonly dir = tempDir("stand-ins");
    readonly root = tempDir("host-root");
    private readonly bin = fakeBin({
        etcdctl: ETCDCTL,
        curl: CURL,
        journalctl: 'echo "journalctl $*" >>"$STANDIN_DIR/calls"; cat "$STANDIN_DIR/journal" 2>/dev/null || true',
        systemctl: 'echo "systemctl $*" >>"$STANDIN_DIR/calls"',
        // The installed release a restart starts (STANDIN_ETCD_VERSION, default 3.5.30).
        etcd: 'echo "etcd Version: ${STANDIN_ETCD_VERSION:-3.5.30}"',
    });

    /** Members answer health checks and membership changes succeed unless a test says otherwise. */
    constructor() {
        this.answer("endpoint health", { status: 0 });
        this.answer("member remove", { stdout: "Member 69 removed from cluster cdf818194e3a8c32\n" });
    }

    /** Queues etcdctl's answers to one kind of call, in order. */
    answer(kind: Kind, ...answers: Answer[]): this {
        answers.forEach((answer, i) => {
            const file = path.join(this.dir, `${kind.replace(" ", "-")}.${i + 1}`);
            fs.writeFileSync(file, `${answer.status ?? 0}\n${answer.stdout ?? ""}`);
        });
        return this;
    }

    /** What journalctl prints (etcd's log). */
    journal(text: string): this {
        fs.writeFileSync(path.join(this.dir, "journal"), text);
        return this;
    }

    /** The commands the stand-ins saw, in order. */
    calls(): string[] {
        const file = path.join(this.dir, "calls");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
    }

    /** Runs host/<script> from the checkout with the settings as its environment. */
    run(script: string, settings: Readonly<Record<string, string | number>>): ScriptResult {
        return this.runBash([path.join(HOST_DIR, script)], settings);
    }

    /** Runs bash `code` after host/lib/common.sh and host/lib/membership.sh, as a script of host/ would. */
    runWithMembership(code: string, settings: Readonly<Record<string, string | number>>): ScriptResult {
        const libraries = ["common.sh", "membership.sh"].map((lib) => `source ${path.join(HOST_DIR, "lib", lib)}`);
        return this.runBash(["-c", ["set -euo pipefail", ...libraries, code].join("\n")], settings);
    }

    private runBash(args: string[], settings: Readonly<Record<string, string | number>>): ScriptResult {
        const env: NodeJS.ProcessEnv = { PATH: `${this.bin}:${process.env.PATH}`, STANDIN_DIR: this.dir };
        for (const [name, value] of Object.entries(settings)) {
            env[name] = String(value);
        }
        const started = Date.now();
        const result = spawnSync("bash", args, {
            encoding: "utf8",
            env: { ...env, ETCD_AWS_ROOT: this.root },
            timeout: 60_000,
        });
        assert.equal(result.error, undefined, `bash could not run: ${String(result.error)}`);
        return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
    }
}

export interface ScriptResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

/** A member as etcdctl's `member list -w json` shows it (IDs in decimal, as etcdctl prints them). */
export interface ListedMember {
    readonly id: bigint;
    readonly name?: string;
    readonly peer: string;
    readonly client?: string;
    readonly learner?: boolean;
}

export function memberList(entries: readonly ListedMember[]): string {
    const members = entries.map((m) => {
        const fields = [`"ID":${m.id}`];
        if (m.name) fields.push(`"name":"${m.name}"`);
        fields.push(`"peerURLs":["${m.peer}"]`);
        if (m.client) fields.push(`"clientURLs":["${m.client}"]`);
        if (m.learner) fields.push(`"isLearner":true`);
        return `{${fields.join(",")}}`;
    });
    return `{"header":{"cluster_id":14841639068965178418,"member_id":1},"members":[${members.join(",")}]}`;
}

/** One endpoint's entry of `endpoint status -w json`. */
export interface EndpointEntry {
    readonly endpoint: string;
    readonly id: bigint;
    readonly leader: bigint;
    readonly applied: number;
    /** The release it runs (default 3.5.16). */
    readonly version?: string;
}

export function endpointStatus(entries: readonly EndpointEntry[]): string {
    return `[${entries
        .map(
            (e) =>
                `{"Endpoint":"${e.endpoint}","Status":{"header":{"cluster_id":14841639068965178418,"member_id":${e.id},"revision":9,"raft_term":2},"version":"${e.version ?? "3.5.16"}","dbSize":20480,"leader":${e.leader},"raftIndex":${e.applied + 1},"raftTerm":2,"raftAppliedIndex":${e.applied},"dbSizeInUse":16384}}`,
        )
        .join(",")}]`;
}
