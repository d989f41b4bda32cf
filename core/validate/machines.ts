// What the members run on and install from: instance type, data volume, etcd release download.
import { DISK_CHECKS, DiskCheck } from "../model";
import { ClusterSettings, DEFAULTS } from "../settings";
import { checkIntegerIn, checkOneOf, isHttpUrl, Problems } from "./checks";

const VOLUME_TYPES = ["gp3", "gp2", "io1", "io2"];
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Why an instance type is below etcd's hardware guide (2 vCPUs and 4 GiB or more for a small
 * cluster, steady CPU for its heartbeats), or undefined.
 */
function belowHardwareGuide(instanceType: string): string | undefined {
    const [family, size] = instanceType.split(".");
    if (size !== undefined && ["nano", "micro", "small"].includes(size)) {
        return `${instanceType} is below the 2 vCPUs and 4 GiB of memory etcd's hardware guide asks for`;
    }
    if (family === "t2") {
        return "t2 instances run out of CPU credits under steady load; etcd then misses heartbeats and elects leaders over and over";
    }
    return undefined;
}

export function resolveMachine(
    settings: ClusterSettings,
    problems: Problems,
    warnings: string[],
): { instanceType: string; volumeSizeGiB: number; volumeType: string; volumeIops?: number; diskCheck: DiskCheck } {
    const instanceType = settings.instanceType ?? DEFAULTS.instanceType;
    if (!INSTANCE_TYPE.test(instanceType)) {
        problems.push({
            setting: "instanceType",
            value: instanceType,
            problem: "is not an EC2 instance type",
            fix: 'write e.g. "t3.medium" or "m6i.large"',
        });
    } else {
        const below = belowHardwareGuide(instanceType);
        if (below !== undefined) {
            warnings.push(`instanceType: ${below}; use "${DEFAULTS.instanceType}" or larger (e.g. "m6i.large")`);
        }
    }
    const volumeSizeGiB = settings.volumeSizeGiB ?? DEFAULTS.volumeSizeGiB;
    checkIntegerIn(problems, "volumeSizeGiB", volumeSizeGiB, {
        min: 8,
        max: 16384,
        problem: "must be a whole number of GiB from 8 to 16384",
        fix: "use 20 or more for production (etcd's quota is 2 GiB plus history)",
    });
    const volumeType = settings.volumeType ?? DEFAULTS.volumeType;
    if (!VOLUME_TYPES.includes(volumeType)) {
        problems.push({
            setting: "volumeType",
            value: volumeType,
            problem: "etcd needs SSD-backed storage",
            fix: `use one of ${VOLUME_TYPES.join(", ")}`,
        });
    }
    const volumeIops = settings.volumeIops;
    checkVolumeIops(volumeType, volumeIops, problems);
    return { instanceType, volumeSizeGiB, volumeType, volumeIops, diskCheck: resolveDiskCheck(settings, problems) };
}

/** Provisioned IOPS: in range, and only (and always) on the volume types that take them. */
/** What the install does with the data volume's measured fsync latency. */
function resolveDiskCheck(settings: ClusterSettings, problems: Problems): DiskCheck {
    const diskCheck = settings.diskCheck ?? DEFAULTS.diskCheck;
    const problem =
        "the install warns about a data volume slower than etcd's 10 ms fsync p99 (warn), stops there (fail) or does not measure (off)";
    return checkOneOf(problems, "diskCheck", diskCheck, DISK_CHECKS, problem) ? diskCheck : DEFAULTS.diskCheck;
}

function checkVolumeIops(volumeType: string, volumeIops: number | undefined, problems: Problems): void {
    if (volumeIops === undefined) {
        if (volumeType === "io1" || volumeType === "io2") {
            problems.push({
                setting: "volumeIops",
                value: undefined,
                problem: `${volumeType} volumes need provisioned IOPS`,
                fix: "set volumeIops, e.g. 3000",
            });
        }
        return;
    }
    const inRange = checkIntegerIn(problems, "volumeIops", volumeIops, {
        min: 100,
        max: 64000,
        problem: "must be a whole number from 100 to 64000",
        fix: "remove it for gp3's 3000 IOPS baseline",
    });
    if (inRange && volumeType === "gp2") {
        problems.push({
            setting: "volumeIops",
            value: volumeIops,
            problem: "gp2 volumes have no provisioned IOPS (EC2 refuses the setting)",
            fix: 'remove volumeIops, or use volumeType "gp3", "io1" or "io2"',
        });
    } else if (inRange && volumeType === "gp3" && volumeIops < 3000) {
        problems.push({
            setting: "volumeIops",
            value: volumeIops,
            problem: "gp3 volumes take 3000 IOPS or more (3000 is their baseline)",
            fix: "remove volumeIops for the baseline, or set 3000 or more",
        });
    }
}

/** Where the release tarball comes from, and the checksum it must have besides SHA256SUMS. */
export function resolveRelease(
    settings: ClusterSettings,
    problems: Problems,
): { mirrorBaseUrl: string; etcdSha256?: string } {
    const mirrorBaseUrl = (settings.mirrorBaseUrl ?? DEFAULTS.mirrorBaseUrl).replace(/\/+$/, "");
    if (!isHttpUrl(mirrorBaseUrl)) {
        problems.push({
            setting: "mirrorBaseUrl",
            value: settings.mirrorBaseUrl,
            problem: "is not an http(s) URL",
            fix: "give the base URL that holds v<version>/etcd-v<version>-linux-amd64.tar.gz and SHA256SUMS",
        });
    }
    if (settings.etcdSha256 !== undefined && !SHA256.test(settings.etcdSha256)) {
        problems.push({
            setting: "etcdSha256",
            value: settings.etcdSha256,
            problem: "is not a lowercase hex SHA-256",
            fix: "copy the tarball's line from the release's SHA256SUMS",
        });
    }
    return { mirrorBaseUrl, etcdSha256: settings.etcdSha256 };
}
