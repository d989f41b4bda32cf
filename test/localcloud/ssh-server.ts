// Test helper: an in-process SSH server (ssh2) on loopback that runs each exec with /bin/sh, as remote.Command's
// target. It accepts one client key and records the environment variables the client asked for.
import { spawn } from "node:child_process";
import { AddressInfo } from "node:net";
import { Server, utils } from "ssh2";
import { privateKey } from "../../localcloud/providers/tls";

const URN = "urn:pulumi:dev::p::tls:index/privateKey:PrivateKey::host-key";

/** A client key pair for the server (ED25519, from the local tls provider) in OpenSSH form. */
export async function clientKey(): Promise<{ privateKeyOpenssh: string; publicKeyOpenssh: string }> {
    const { outputs } = await privateKey.create({ algorithm: "ED25519" }, URN);
    return outputs as { privateKeyOpenssh: string; publicKeyOpenssh: string };
}

/** Starts the server on a free loopback port, taking `clientPublicKey` (authorized_keys form) only. */
export async function startSshServer(
    clientPublicKey: string,
): Promise<{ server: Server; port: number; envs: string[] }> {
    const hostKey = (await privateKey.create({ algorithm: "ECDSA", ecdsaCurve: "P256" }, URN)).outputs;
    const allowed = utils.parseKey(clientPublicKey);
    if (allowed instanceof Error) throw allowed;
    const envs: string[] = [];
    const server = new Server({ hostKeys: [hostKey.privateKeyPem as string] }, (client) => {
        client.on("authentication", (context) => {
            const key = context.method === "publickey" ? context.key : undefined;
            const ok = key && key.data.equals((Array.isArray(allowed) ? allowed[0] : allowed).getPublicSSH());
            return ok ? context.accept() : context.reject(["publickey"]);
        });
        client.on("ready", () =>
            client.on("session", (accept) => {
                const session = accept();
                const env: Record<string, string> = {};
                session.on("env", (acceptEnv, _reject, info) => {
                    env[info.key] = info.val;
                    envs.push(info.key);
                    acceptEnv?.();
                });
                session.on("exec", (acceptExec, _reject, info) => {
                    const channel = acceptExec();
                    const child = spawn("/bin/sh", ["-c", info.command], { env: { ...process.env, ...env } });
                    channel.pipe(child.stdin);
                    child.stdout.pipe(channel, { end: false });
                    child.stderr.pipe(channel.stderr, { end: false });
                    child.on("close", (code) => {
                        channel.exit(code ?? 1);
                        channel.end();
                    });
                });
            }),
        );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, port: (server.address() as AddressInfo).port, envs };
}
