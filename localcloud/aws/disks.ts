// The local cloud's EBS volumes as block devices: a sparse image file per volume (its size in GiB) in the state
// directory, attached to a host as a loop device, which the host sees where a Nitro instance sees an EBS volume:
// /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<volume id without the dash> (a link in the host's own /dev/disk,
// which local/enter-host.sh binds over /dev/disk). The filesystem on it is the host's business (the install script
// formats it once and mounts it by UUID through the host's fstab).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { localcloudDir } from "./state";

const GIB = 1024 ** 3;

function imagePath(volumeId: string): string {
    return path.join(localcloudDir(), "disks", `${volumeId}.img`);
}

/** The link a Nitro instance has for the volume, under the host root's own /dev/disk. */
export function deviceLink(root: string, volumeId: string): string {
    return path.join(root, "dev/disk/by-id", `nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`);
}

const losetup = (...args: string[]): string => execFileSync("losetup", args, { timeout: 30_000 }).toString().trim();

/** The loop device the volume's image is attached to, if any. */
function loopDevice(volumeId: string): string | undefined {
    if (!fs.existsSync(imagePath(volumeId))) return undefined;
    return losetup("--noheadings", "--output", "NAME", "--associated", imagePath(volumeId)).split("\n")[0] || undefined;
}

/** Creates the volume's (sparse, empty) image. */
export function createDisk(volumeId: string, sizeGiB: number): void {
    fs.mkdirSync(path.dirname(imagePath(volumeId)), { recursive: true });
    fs.writeFileSync(imagePath(volumeId), "", { flag: "wx" });
    fs.truncateSync(imagePath(volumeId), sizeGiB * GIB);
}

/** Grows the image (ModifyVolume: a volume never shrinks) and tells an attached loop device its new size. */
export function growDisk(volumeId: string, sizeGiB: number): void {
    const image = imagePath(volumeId);
    if (fs.statSync(image).size > sizeGiB * GIB) {
        throw new Error(`InvalidParameterValue: ${volumeId}: a volume's size can only be increased`);
    }
    fs.truncateSync(image, sizeGiB * GIB);
    const loop = loopDevice(volumeId);
    if (loop) losetup("--set-capacity", loop);
}

/** Attaches the volume to the host at `root` (idempotent); returns the loop device. */
export function attachDisk(volumeId: string, root: string): string {
    const loop = loopDevice(volumeId) ?? losetup("--find", "--show", imagePath(volumeId));
    const link = deviceLink(root, volumeId);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.rmSync(link, { force: true });
    fs.symlinkSync(loop, link);
    return loop;
}

/**
 * Detaches the volume from the host at `root`: its link goes and the loop device is released. The kernel frees it
 * once no mount holds it: the filesystem stays mounted while a process of the host (whose mount namespace holds
 * it) runs, so a mounted volume is detached only once its instance is stopped; until then (waiting up to
 * `waitMs`) this fails as a busy detach does on EC2, unless `force` (forceDetach) leaves the kernel to free it.
 */
export async function detachDisk(volumeId: string, root: string, force = false, waitMs = 10_000): Promise<void> {
    fs.rmSync(deviceLink(root, volumeId), { force: true });
    const loop = loopDevice(volumeId);
    if (!loop) return;
    losetup("--detach", loop);
    if (force) return;
    const deadline = Date.now() + waitMs;
    while (loopDevice(volumeId) !== undefined) {
        if (Date.now() >= deadline) {
            throw new Error(
                `VolumeInUse: ${volumeId} is still mounted on its instance (${loop}); stop the instance first`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** Deletes the volume's image (detached first). */
export function deleteDisk(volumeId: string): void {
    const loop = loopDevice(volumeId);
    if (loop) losetup("--detach", loop);
    fs.rmSync(imagePath(volumeId), { force: true });
}
