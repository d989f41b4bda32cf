import { strict as assert } from "assert";
import { renderTimerUnits } from "../../../core/scripts/timer-units";

describe("core/scripts/timer-units", () => {
    const input = {
        serviceDescription: "runs it",
        timerDescription: "every minute",
        script: "/usr/local/sbin/x",
        firstAfterBootSeconds: 30,
        intervalSeconds: 60,
        randomDelaySeconds: 5,
    };

    it("runs the script once after etcd, with the extra service lines in [Service]", () => {
        const { service } = renderTimerUnits({ ...input, serviceLines: ["Nice=10"] });
        assert.equal(
            service,
            [
                "[Unit]",
                "Description=runs it",
                "After=etcd.service",
                "Requires=etcd.service",
                "",
                "[Service]",
                "Type=oneshot",
                "ExecStart=/usr/local/sbin/x",
                "Nice=10",
                "",
            ].join("\n"),
        );
    });

    it("starts it after boot, every interval, each member at its own random moment", () => {
        const { timer } = renderTimerUnits(input);
        assert.match(timer, /^OnBootSec=30s\nOnUnitActiveSec=60s\nRandomizedDelaySec=5s\nAccuracySec=1s$/m);
        assert.match(timer, /^\[Install\]\nWantedBy=timers\.target\n$/m);
    });
});
