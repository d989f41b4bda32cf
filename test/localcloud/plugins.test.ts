import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as emptyProto from "google-protobuf/google/protobuf/empty_pb";
import * as providerRpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as pluginProto from "@pulumi/pulumi/proto/plugin_pb";
import { installLocalProviders, LOCAL_PROVIDERS, providerVersion } from "../../localcloud/plugins";
import { at } from "../helpers/elements";

/** Starts a plugin wrapper, waits (bounded) for the port on its first stdout line, asks its version, stops it. */
async function pluginVersion(wrapper: string): Promise<string> {
    const child = spawn(wrapper, [], { stdio: ["ignore", "pipe", "inherit"] });
    try {
        const port = await new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${wrapper} printed no port in 15 s`)), 15_000);
            child.stdout.once("data", (chunk: Buffer) => (clearTimeout(timer), resolve(chunk.toString().trim())));
            child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`${wrapper} exited with ${code}`))));
        });
        const client = new providerRpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            return await new Promise<string>((resolve, reject) =>
                client.getPluginInfo(new emptyProto.Empty(), (error: Error | null, info?: pluginProto.PluginInfo) =>
                    error ? reject(error) : resolve(info!.getVersion()),
                ),
            );
        } finally {
            client.close();
        }
    } finally {
        child.kill();
    }
}

describe("localcloud/plugins", function () {
    this.timeout(60_000);
    let home: string;
    before(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), "localcloud-plugins-"))));
    after(() => fs.rmSync(home, { recursive: true, force: true }));

    it("takes each provider's version from package-lock.json (the SDK versions the engine asks for)", () => {
        assert.deepEqual(
            LOCAL_PROVIDERS.map((name) => [name, providerVersion(name)]),
            [
                ["random", "4.21.2"],
                ["tls", "5.6.1"],
                ["command", "1.2.1"],
                ["aws", "7.48.0"],
            ],
        );
    });

    it("installs an executable wrapper per provider into the plugin cache, each serving its version", async () => {
        const wrappers = installLocalProviders(home);
        assert.deepEqual(
            wrappers.map((wrapper) => path.relative(home, wrapper)),
            LOCAL_PROVIDERS.map((name) => `plugins/resource-${name}-v${providerVersion(name)}/pulumi-resource-${name}`),
        );
        for (const [index, wrapper] of wrappers.entries()) {
            assert.equal(fs.statSync(wrapper).mode & 0o111, 0o111);
            assert.equal(await pluginVersion(wrapper), providerVersion(at(LOCAL_PROVIDERS, index, "provider")));
        }
    });
});
