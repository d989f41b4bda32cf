// The install script's input for the tests of core/install and host/etcd-aws-install.sh: a release on GitHub's URL
// layout for member orders-0 of cluster orders.
import * as assert from "node:assert/strict";
import { CpuArchitecture, EtcdVersion, InstallScriptInput, parseEtcdVersion, ReleaseSpec } from "../../core";

export const GITHUB = "https://github.com/etcd-io/etcd/releases/download";
/** A SHA-256 digest's shape (64 hex digits). */
export const SHA = "0123456789abcdef".repeat(4);

export function version(text: string): EtcdVersion {
    const parsed = parseEtcdVersion(text);
    assert.ok(parsed);
    return parsed;
}

export function installInput(
    text: string,
    arch: CpuArchitecture,
    extra: Partial<ReleaseSpec> = {},
    dataVolumeId?: string,
): InstallScriptInput {
    return {
        release: { version: version(text), arch, mirrorBaseUrl: GITHUB, ...extra },
        dataVolumeId,
        memberName: "orders-0",
        clusterName: "orders",
    };
}
