// Stand-in etcdctl, curl, systemctl and journalctl for running rendered host scripts (the launch, leave and health
// gate scripts) under a temporary root, and etcdctl's JSON answers they read: shared by test/core/launch.test.ts
// and test/host/launch.test.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { fakeBin, runBash, tempDir } from "../core/helpers";

/**
 * Stand-ins for etcdctl, curl, systemctl and journalctl that log their arguments to $FAKE_LOG.
 * etcdctl answers with the JSON of -w json: FAKE_MEMBERS (member list), FAKE_LOCAL_STATUS
 * (endpoint status of this member; unset: it is down), FAKE_ADDED (member add).
 */
export const FAKE_TOOLS = {
    etcdctl: `echo "etcdctl $*" >>"$FAKE_LOG"
if [ -n "\${ETCDCTL_CACERT:-}" ]; then echo "$ETCDCTL_CACERT $ETCDCTL_CERT $ETCDCTL_KEY" >>"$FAKE_LOG.tls"; fi
case "$*" in
    *"member list"*) [ -n "\${FAKE_MEMBERS:-}" ] || exit 1; printf '%s' "$FAKE_MEMBERS" ;;
    *"--endpoints https://10.0.1.10:2379 "*"endpoint health"*) exit "\${FAKE_LOCAL_HEALTH:-0}" ;;
    *"endpoint health"*) exit "\${FAKE_HEALTH:-0}" ;;
    *"endpoint status"*) if [ -n "\${FAKE_LOCAL_STATUS:-}" ]; then printf '%s' "$FAKE_LOCAL_STATUS"; else exit 1; fi ;;
    *" lock "*) if [ -n "\${FAKE_LOCK_FAILS_ONCE:-}" ] && [ ! -e "$FAKE_LOG.lock-failed" ]; then touch "$FAKE_LOG.lock-failed"; exit 1; fi
        while [ "$1" != -- ]; do shift; done; shift; exec "$@" ;;
    *"member promote"*) if [ -n "\${FAKE_PROMOTE_ERROR:-}" ]; then
        echo '{"level":"warn","msg":"retrying of unary invoker failed"}' >&2; echo "Error: $FAKE_PROMOTE_ERROR" >&2; exit 1
    fi ;;
    *"member add"*) if [ -n "\${FAKE_ADD_REFUSALS:-}" ] && [ "$(cat "$FAKE_ADD_REFUSALS")" -gt 0 ]; then
        echo $(($(cat "$FAKE_ADD_REFUSALS") - 1)) >"$FAKE_ADD_REFUSALS"; echo "Error: etcdserver: unhealthy cluster" >&2; exit 1
    fi
    if [ -n "\${FAKE_ADD_WARNS:-}" ]; then echo '{"level":"warn","msg":"unrecognized environment variable"}' >&2; fi
    printf '%s' "$FAKE_ADDED" ;;
    *" get "*) if [ -n "\${FAKE_SIZE:-}" ]; then printf '%s\\n' "$FAKE_SIZE"; fi ;;
    *" put "*) echo OK ;;
esac`,
    // FAKE_PEER_MEMBERS: what every other member answers to GET /members on its peer port
    // (unset: nobody answers).
    curl: `echo "curl $*" >>"$FAKE_LOG"
case "$*" in
    *"/members"*) [ -n "\${FAKE_PEER_MEMBERS:-}" ] || exit 7
        out=; previous=; for arg in "$@"; do if [ "$previous" = -o ]; then out=$arg; fi; previous=$arg; done
        printf '%s' "$FAKE_PEER_MEMBERS" >"$out" ;;
    *"-X PUT"*) echo '{"action":"set"}' ;;
    *) if [ -n "\${FAKE_SIZE:-}" ]; then printf '{"action":"get","node":{"key":"/_etcd/registry/t/_config/size","value":"%s","modifiedIndex":4}}' "$FAKE_SIZE"; else exit 22; fi ;;
esac`,
    systemctl: `echo "systemctl $*" >>"$FAKE_LOG"
case "$*" in
    *is-active*) exit "\${FAKE_ACTIVE:-1}" ;;
esac`,
    journalctl: `echo "journalctl $*" >>"$FAKE_LOG"`,
};

/** Runs a rendered script with the fake tools; returns its result and the commands they saw. */
export function runWithFakes(
    script: string,
    env: Record<string, string> = {},
    args: string[] = [],
): { status: number | null; stdout: string; stderr: string; calls: string[]; tls: string[]; tlsLog: string } {
    const log = path.join(tempDir("calls"), "calls.log");
    fs.writeFileSync(log, "");
    const result = runBash(script, { FAKE_LOG: log, ...env }, fakeBin(FAKE_TOOLS), args);
    const lines = (file: string) =>
        fs.existsSync(file)
            ? fs
                  .readFileSync(file, "utf8")
                  .split("\n")
                  .filter((line) => line !== "")
            : [];
    return { ...result, calls: lines(log), tls: lines(`${log}.tls`), tlsLog: `${log}.tls` };
}

/** A member as etcdctl's JSON lists it: IDs in decimal, no name or client URLs until it runs. */
export interface ListedMember {
    readonly id: string;
    readonly name?: string;
    readonly peer: string;
    readonly client?: string;
    readonly learner?: boolean;
}

export function listedJson(member: ListedMember): Record<string, unknown> {
    return {
        ID: BigInt(`0x${member.id}`).toString(),
        ...(member.name ? { name: member.name } : {}),
        peerURLs: [member.peer],
        ...(member.client ? { clientURLs: [member.client] } : {}),
        ...(member.learner ? { isLearner: true } : {}),
    };
}

/** JSON with uint64 IDs as bare decimal numbers, as etcdctl prints them (beyond a double's precision). */
export function etcdJson(value: unknown): string {
    return JSON.stringify(value)
        .replace(/"ID":"(\d+)"/g, '"ID":$1')
        .replace(/"(member_id|leader)":"(\d+)"/g, '"$1":$2');
}

/** `member list -w json`. */
export function memberList(members: ListedMember[]): string {
    return etcdJson({
        header: { cluster_id: "14841639068965178418", member_id: "10276657743932975437", raft_term: 2 },
        members: members.map(listedJson),
    });
}

/** `endpoint status -w json` of this member (orders-0) with the given hex ID, first, and of its leader orders-1. */
export function localStatus(id: string): string {
    const leader = BigInt("0x91bc3c398fb3c146").toString();
    const status = (endpoint: string, member: string) => ({
        Endpoint: endpoint,
        Status: { header: { member_id: member, revision: 9 }, version: "3.6.14", leader, raftAppliedIndex: 9 },
    });
    return etcdJson([
        status("https://10.0.1.10:2379", BigInt(`0x${id}`).toString()),
        status("https://10.0.2.10:2379", leader),
    ]);
}

/** The three members of the test cluster, started. */
export const STARTED_MEMBERS = [
    { id: "8e9e05c52164694d", name: "orders-0", peer: "https://10.0.1.10:2380", client: "https://10.0.1.10:2379" },
    { id: "91bc3c398fb3c146", name: "orders-1", peer: "https://10.0.2.10:2380", client: "https://10.0.2.10:2379" },
    { id: "fd422379fda50e48", name: "orders-2", peer: "https://10.0.3.10:2380", client: "https://10.0.3.10:2379" },
] as const satisfies readonly ListedMember[];
export const STARTED = memberList([...STARTED_MEMBERS]);
