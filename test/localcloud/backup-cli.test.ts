// localcloud/backup-cli.ts (scripts/local-cluster.sh backup): its refusals. Taking a backup of a local stack needs
// backups wired into the cluster (the members' installed script); those runs are the real tests'.
import * as assert from "node:assert/strict";
import { backupMain } from "../../localcloud/backup-cli";
import { useLocalCloudDir } from "./local-cloud-env";

describe("localcloud/backup-cli", function () {
    this.timeout(60_000);
    useLocalCloudDir("localcloud-backup-cli-");
    let errors: string[] = [];
    const consoleError = console.error;
    beforeEach(() => {
        errors = [];
        console.error = (...args: unknown[]) => void errors.push(args.join(" "));
    });
    afterEach(() => (console.error = consoleError));

    it("refuses an unknown option with its usage (exit 2)", async () => {
        assert.equal(await backupMain(["--bogus"]), 2);
        assert.match(errors.join("\n"), /usage: scripts\/local-cluster\.sh backup \[--stack/);
    });

    it("says a stack without a deployment has no outputs to read (exit 1), taking nothing", async () => {
        assert.equal(await backupMain(["--stack", "local-none"]), 1);
        assert.match(errors.join("\n"), /stack local-none has no outputs to read/);
    });
});
