// scripts/local-cluster.sh backup [--stack local|local-<name>]: takes a backup of a local stack's cluster now, the
// way the members' timer does (the installed /usr/local/sbin/etcd-aws-backup, with --now so an interval that has a
// backup gets one all the same), on the first member (by the stack's instanceIds output) whose host has the script;
// prints the backup's s3:// URI. It runs in the instance's cgroup, as the timer's service does, so the instance's
// egress rules apply to it; its credentials come from the local cloud's IMDSv2 stand-in, as on EC2.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs, promisify } from "node:util";
import { BACKUP_PATHS } from "../core/scripts/backup";
import { LocalHost } from "../local/host";
import { inInstanceCgroup } from "./aws/cgroups";
import { localcloudDir, ResourceStore } from "./aws/state";
import { pulumiEnvironment } from "./stack";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..");
const PULUMI = path.join(ROOT, ".tools", "pulumi", "bin", "pulumi");
export const BACKUP_USAGE = "usage: scripts/local-cluster.sh backup [--stack local|local-<name>]";
const BACKUP_TIMEOUT_MS = 15 * 60_000;

/** The instances of a stack, in its instanceIds output's order. */
async function stackInstances(stack: string): Promise<string[]> {
    const { stdout } = await run(PULUMI, ["stack", "output", "instanceIds", "--json", "--stack", stack], {
        cwd: ROOT,
        env: pulumiEnvironment(),
    });
    const ids = JSON.parse(stdout) as unknown;
    return Array.isArray(ids) ? ids.map(String) : [];
}

/** Runs the command; returns the exit status (2: usage, 1: no backup taken). */
export async function backupMain(args: string[]): Promise<number> {
    let stack: string;
    try {
        stack = String(parseArgs({ args, options: { stack: { type: "string", default: "local" } } }).values.stack);
    } catch (error) {
        console.error(`${(error as Error).message}\n${BACKUP_USAGE}`);
        return 2;
    }
    const records = new ResourceStore<{ address: string }>("instances");
    let ids: string[];
    try {
        ids = await stackInstances(stack);
    } catch (error) {
        const reason = String((error as { stderr?: string }).stderr ?? error)
            .trim()
            .split("\n")[0];
        console.error(`stack ${stack} has no outputs to read (${reason})`);
        return 1;
    }
    if (ids.length === 0) {
        console.error(`stack ${stack} has no instances (scripts/local-cluster.sh up --stack ${stack} first)`);
        return 1;
    }
    for (const id of ids) {
        const record = records.get(id);
        const root = path.join(localcloudDir(), "hosts", id, "root");
        if (!record || !fs.existsSync(path.join(root, BACKUP_PATHS.backupScript.slice(1)))) continue;
        const host = new LocalHost(id, record.address, root, true);
        const result = await host.exec(inInstanceCgroup(id, [BACKUP_PATHS.backupScript, "--now"]), {
            timeoutMs: BACKUP_TIMEOUT_MS,
            echo: process.stderr,
        });
        if (result.code !== 0) {
            console.error(`the backup on ${id} failed (exit ${result.code})`);
            return 1;
        }
        console.log(result.stdout.trim());
        return 0;
    }
    console.error(
        `no member of stack ${stack} has ${BACKUP_PATHS.backupScript}: backups are off (set etcd-aws:backupBucket)`,
    );
    return 1;
}

if (require.main === module) {
    backupMain(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: unknown) => {
            console.error(error);
            process.exit(1);
        },
    );
}
