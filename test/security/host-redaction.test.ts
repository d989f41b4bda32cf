// What the host scripts print outside the member (the deployment's error text): etcd's log lines
// name the discovery token, URL and proxy, and the mirror URL can carry a password; the scripts'
// helpers in host/lib/common.sh mask them.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const COMMON = path.resolve(__dirname, "../../host/lib/common.sh");

function bash(script: string, input = ""): string {
    const result = spawnSync("bash", ["-euo", "pipefail", "-c", `source "${COMMON}"; ${script}`], {
        input,
        encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
}

// etcd 3.6's startup line and v3 discovery's (embed/etcd.go, v3discovery/discovery.go).
const ETCD_LOG = [
    '{"level":"info","msg":"starting an etcd server","discovery-url":"https://u:pw@discovery.example.com/6c007a","discovery-proxy":"http://p:pw@10.0.0.6:3128","discovery-token":"tok3n",' +
        '"discovery-endpoints":"http://10.0.0.5:2379"}',
    '{"level":"warn","msg":"failed to register","discovery-token": "tok3n","error":"context deadline exceeded"}',
].join("\n");

describe("host scripts mask secrets in what they print", () => {
    it("mask_discovery_secrets masks etcd's discovery token, URL and proxy and keeps the rest of the line", () => {
        const masked = bash("mask_discovery_secrets", ETCD_LOG);
        assert.doesNotMatch(masked, /tok3n|pw@|6c007a/);
        assert.match(masked, /"discovery-token":"\*\*\*"/);
        assert.match(masked, /"discovery-endpoints":"http:\/\/10\.0\.0\.5:2379"/);
        assert.match(masked, /"error":"context deadline exceeded"/);
    });

    it("without_userinfo drops user:password from a URL and leaves a URL without one alone", () => {
        assert.equal(
            bash('without_userinfo "https://mirror:s3cret@mirror.example.com/etcd/v3.6.16"'),
            "https://mirror.example.com/etcd/v3.6.16\n",
        );
        assert.equal(
            bash('without_userinfo "https://github.com/etcd-io/etcd/releases/download"'),
            "https://github.com/etcd-io/etcd/releases/download\n",
        );
    });
});
