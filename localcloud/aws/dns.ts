// The local cloud's Route53: aws.route53.Zone and Record (A and SRV, what components/etcd-dns.ts creates), kept as
// state and served by one dnsmasq on 127.0.19.53:53, the nameserver of every local host. dnsmasq is detached (it
// outlives the provider process; its PID is in <state>/dns/dnsmasq.pid) and started with the first zone. A records
// live in an addn-hosts file, which SIGHUP re-reads; zones and SRV records are flags, which dnsmasq reads only at
// start, so a change of those restarts it. It is stopped when the last zone is deleted. Each change returns once the
// server answers it, as Route53's change reaches INSYNC before the provider returns.
import * as crypto from "node:crypto";
import { promises as dnsPromises } from "node:dns";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkAlive, startDaemon } from "../../local/daemon";
import { isRunning, readPidFile, stopAll, waitFor } from "../../local/process";
import { dnsmasqServerArgs, lookupSrv, srvHostArg } from "../../local/services";
import { awsDiff } from "../providers/aws";
import { OldState, Properties, ResourceType } from "../providers/server";
import { localcloudDir, recordMode, ResourceStore } from "./state";

/**
 * The local cloud's DNS server, the nameserver LocalHost.create gives every instance: 127.0.19.53, or
 * LOCALCLOUD_DNS_ADDRESS (a test's own, so it never meets a running local stack's).
 */
export function dnsServerAddress(): string {
    return process.env.LOCALCLOUD_DNS_ADDRESS ?? "127.0.19.53";
}

const DNSMASQ = "/usr/sbin/dnsmasq";
const ZONE = "aws:route53/zone:Zone";
const RECORD = "aws:route53/record:Record";
/** The record types served (the package creates A and SRV records only). */
const SERVED_TYPES = ["A", "SRV"];
const ANSWER_TIMEOUT_MS = 20_000;

/** A hosted zone as state keeps it. */
export interface HostedZone {
    name: string;
    forceDestroy?: boolean;
}

/** A record set as state keeps it: its zone, fully qualified name, type and values. */
export interface RecordSet {
    zoneId: string;
    fqdn: string;
    type: string;
    records: string[];
}

const zones = new ResourceStore<HostedZone>("route53-zones");
const recordSets = new ResourceStore<RecordSet>("route53-records");

const dnsDir = () => path.join(localcloudDir(), "dns");
const hostsFile = () => path.join(dnsDir(), "hosts");
const argsFile = () => path.join(dnsDir(), "dnsmasq.args.json");

/** A Route53 name as stored: lower case, no trailing dot. */
const normalized = (name: string) => name.toLowerCase().replace(/\.$/, "");

/** terraform's expandRecordName: a name that does not end in the zone's name is relative to it. */
export function recordFqdn(name: string, zoneName: string): string {
    const zone = normalized(zoneName);
    const record = normalized(name);
    return record === zone || record.endsWith(`.${zone}`) ? record : `${record}.${zone}`;
}

/** What dnsmasq serves for the zones and record sets: its flags (a change restarts it) and its hosts file. */
export function dnsmasqConfig(
    address: string,
    hostedZones: HostedZone[],
    sets: RecordSet[],
): { args: string[]; hosts: string } {
    const domains = [...new Set(hostedZones.map((zone) => normalized(zone.name)))].sort();
    const srv = sets
        .filter((set) => set.type === "SRV")
        .flatMap((set) => set.records.map((record) => srvHostArg(set.fqdn, record)))
        .sort();
    const hosts = sets
        .filter((set) => set.type === "A")
        .flatMap((set) => set.records.map((address) => `${address} ${set.fqdn}`))
        .sort();
    return {
        // As root: SIGHUP re-reads the hosts file after dnsmasq dropped privileges, and the state directory may be
        // root's alone (it listens on loopback only).
        args: [...dnsmasqServerArgs(address, domains), "--user=root", `--addn-hosts=${hostsFile()}`, ...srv],
        hosts: hosts.length > 0 ? `${hosts.join("\n")}\n` : "",
    };
}

const readOr = (file: string, fallback: string) => {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return fallback;
    }
};

/** The running dnsmasq's PID, if the recorded one still runs. */
function runningServer(): number | undefined {
    const pid = readPidFile(path.join(dnsDir(), "dnsmasq.pid"));
    return pid !== undefined && isRunning(pid) ? pid : undefined;
}

/** True when the server answers `set` as stored (NXDOMAIN once it is gone, when `present` is false). */
async function answers(set: RecordSet, present: boolean): Promise<boolean> {
    const resolver = new dnsPromises.Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([dnsServerAddress()]);
    const expected = present ? [...set.records].sort() : [];
    const got =
        set.type === "SRV"
            ? await lookupSrv(dnsServerAddress(), set.fqdn).catch((error: NodeJS.ErrnoException) => error)
            : await resolver
                  .resolve4(set.fqdn)
                  .then((addresses) => addresses.sort())
                  .catch((error: NodeJS.ErrnoException) => error);
    if (got instanceof Error) return !present && (got.code === "ENOTFOUND" || got.code === "ENODATA");
    return JSON.stringify(got) === JSON.stringify(expected);
}

/** Serialises the changes of one provider process: a restart must not overlap another. */
let serving: Promise<void> = Promise.resolve();

/**
 * Brings dnsmasq in line with the state: started with the first zone, restarted when its flags change, sent SIGHUP
 * when only the A records did, stopped with the last zone. Then waits until it answers `changed` as stored.
 */
function serve(changed: { set: RecordSet; present: boolean }[] = []): Promise<void> {
    const next = serving.then(async () => {
        if (recordMode()) return;
        const hostedZones = zones.list().map(([, zone]) => zone);
        if (hostedZones.length === 0) {
            await stopAll(dnsDir());
            return;
        }
        const { args, hosts } = dnsmasqConfig(
            dnsServerAddress(),
            hostedZones,
            recordSets.list().map(([, set]) => set),
        );
        fs.mkdirSync(dnsDir(), { recursive: true });
        const hostsChanged = readOr(hostsFile(), "") !== hosts;
        fs.writeFileSync(hostsFile(), hosts);
        const argsText = `${JSON.stringify(args, null, 2)}\n`;
        const pid = runningServer();
        if (pid === undefined || readOr(argsFile(), "") !== argsText) {
            await stopAll(dnsDir());
            if (!fs.existsSync(DNSMASQ)) {
                throw new Error(`${DNSMASQ} is missing; run scripts/bootstrap.sh (Debian package dnsmasq-base)`);
            }
            const daemon = startDaemon(dnsDir(), "dnsmasq", [DNSMASQ, ...args]);
            fs.writeFileSync(argsFile(), argsText);
            await waitFor(`dnsmasq on ${dnsServerAddress()} to answer`, ANSWER_TIMEOUT_MS, async () => {
                checkAlive(daemon);
                const probe = { zoneId: "", fqdn: `probe.${normalized(hostedZones[0]?.name ?? "")}`, type: "A" };
                return (await answers({ ...probe, records: [] }, false)) ? true : undefined;
            });
        } else if (hostsChanged) {
            process.kill(pid, "SIGHUP");
        }
        for (const { set, present } of changed) {
            await waitFor(`dnsmasq to answer ${set.fqdn} ${set.type}`, ANSWER_TIMEOUT_MS, async () =>
                (await answers(set, present)) ? true : undefined,
            );
        }
    });
    serving = next.catch(() => undefined);
    return next;
}

/** A Route53 hosted zone id: Z and 20 upper-case letters and digits. */
function newZoneId(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    return `Z${Array.from({ length: 20 }, () => alphabet[crypto.randomInt(alphabet.length)]).join("")}`;
}

const diffOf = (token: string) => (olds: OldState, news: Properties) => awsDiff(token, olds, news);

const zone: ResourceType = {
    defaults: { comment: "Managed by Pulumi", forceDestroy: false },
    diff: diffOf(ZONE),
    async create(inputs) {
        const id = newZoneId();
        const name = normalized(String(inputs.name));
        zones.put(id, { name, forceDestroy: inputs.forceDestroy === true });
        await serve();
        return {
            id,
            outputs: {
                ...inputs,
                name,
                zoneId: id,
                arn: `arn:aws:route53:::hostedzone/${id}`,
                nameServers: [dnsServerAddress()],
                primaryNameServer: dnsServerAddress(),
            },
        };
    },
    async update(id, olds, news) {
        const stored = zones.get(id);
        if (stored) zones.put(id, { ...stored, forceDestroy: news.forceDestroy === true });
        return { ...olds.outputs, ...news };
    },
    async delete(id) {
        const held = recordSets.list().filter(([, set]) => set.zoneId === id);
        if (held.length > 0 && zones.get(id)?.forceDestroy !== true) {
            throw new Error(
                `HostedZoneNotEmpty: the hosted zone ${id} still holds ${held.map(([, set]) => `${set.fqdn} ${set.type}`).join(", ")}`,
            );
        }
        held.forEach(([setId]) => recordSets.remove(setId));
        zones.remove(id);
        await serve();
    },
};

/** The record set the inputs describe, checked as Route53 checks a change batch. */
function recordSetOf(inputs: Properties): { id: string; set: RecordSet } {
    const zoneId = String(inputs.zoneId);
    const hosted = zones.get(zoneId);
    if (!hosted) throw new Error(`NoSuchHostedZone: no hosted zone found with ID: ${zoneId}`);
    const type = String(inputs.type);
    if (!SERVED_TYPES.includes(type)) {
        throw new Error(
            `local aws provider: Route53 record type ${type} is not served (only ${SERVED_TYPES.join(", ")})`,
        );
    }
    const fqdn = recordFqdn(String(inputs.name), hosted.name);
    const records = Array.isArray(inputs.records) ? inputs.records.map(String) : [];
    // terraform's record id: ZONEID_name_type.
    return { id: `${zoneId}_${fqdn}_${type}`, set: { zoneId, fqdn, type, records } };
}

const record: ResourceType = {
    defaults: {},
    diff: diffOf(RECORD),
    async create(inputs) {
        const { id, set } = recordSetOf(inputs);
        if (recordSets.get(id) && inputs.allowOverwrite !== true) {
            throw new Error(
                `InvalidChangeBatch: Tried to create resource record set [name='${set.fqdn}.', type='${set.type}'] but it already exists`,
            );
        }
        recordSets.put(id, set);
        await serve([{ set, present: true }]);
        return { id, outputs: { ...inputs, fqdn: set.fqdn } };
    },
    async update(id, olds, news) {
        // Only values change in place (name and zone replace): an UPSERT of the same set.
        const { set } = recordSetOf(news);
        recordSets.put(id, set);
        await serve([{ set, present: true }]);
        return { ...olds.outputs, ...news, fqdn: set.fqdn };
    },
    async delete(id) {
        const set = recordSets.get(id);
        recordSets.remove(id);
        if (set) await serve([{ set, present: false }]);
    },
};

/** The Route53 resource types of the local aws provider, by type token. */
export const DNS_RESOURCES: Record<string, ResourceType> = {
    [ZONE]: zone,
    [RECORD]: record,
};
