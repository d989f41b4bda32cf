import * as assert from "node:assert/strict";
import { renderMemberReadyScript } from "../../core";
import { afterHeader, bundleSettings, shellcheck, specOf } from "./helpers";
import { at } from "../helpers/elements";

describe("core/scripts/member-ready", () => {
    for (const [label, settings] of [
        ["static, tls", {}],
        ["dns, no tls", { bootstrapMode: "dns", tls: false }],
    ] as const) {
        it(`${label}: shellcheck-clean, header then set -euo pipefail`, () => {
            const spec = specOf(settings);
            const script = renderMemberReadyScript(spec, at(spec.members, 1), { timeoutSeconds: 600 });
            assert.equal(shellcheck(script), "");
            assert.equal(
                script.split("\n")[1],
                "# Waits until member orders-1 of etcd cluster orders is a healthy voting member that caught up.",
            );
            assert.equal(afterHeader(script)[0], "set -euo pipefail");
        });
    }

    it("its settings: the member, its own and the other members' client URLs, the timeout, the margin and the TLS files", () => {
        const spec = specOf({ memberCount: 5 });
        const script = renderMemberReadyScript(spec, at(spec.members, 0), { timeoutSeconds: 900 });
        assert.deepEqual(bundleSettings(script), {
            MEMBER_NAME: "orders-0",
            PEER_URL: "https://10.0.1.10:2380",
            LOCAL_ENDPOINT: "https://10.0.1.10:2379",
            PEER_ENDPOINTS:
                "https://10.0.2.10:2379,https://10.0.3.10:2379,https://10.0.1.11:2379,https://10.0.2.11:2379",
            TIMEOUT_SECONDS: "900",
            CATCH_UP_MARGIN: "100",
            REPORT_EVERY_SECONDS: "30",
            UNIT: "etcd.service",
            CA_FILE: "/etc/etcd/pki/ca.crt",
            CLIENT_CERT_FILE: "/etc/etcd/pki/client.crt",
            CLIENT_KEY_FILE: "/etc/etcd/pki/client.key",
        });
    });

    it("carries host/etcd-aws-member-ready.sh and the JSON helper, so one stdin runs it", () => {
        const spec = specOf({});
        const script = renderMemberReadyScript(spec, at(spec.members, 0), { timeoutSeconds: 60 });
        assert.ok(script.includes("# ---- host/etcd-aws-member-ready.sh\n"));
        assert.match(script, /^ETCD_JSON_PY=\$\(cat <<'ETCD_JSON_PY'$/m);
    });
});
