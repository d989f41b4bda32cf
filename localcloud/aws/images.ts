// The local cloud's machine images: `$LOCALCLOUD_DIR/images.json` lists the images "published" so far; getAmi with
// mostRecent returns the newest, so a test simulates Canonical publishing a new Ubuntu image with publishImage()
// (or `node -r ts-node/register localcloud/aws/images.ts publish`, which prints the new id). Every image boots the
// same local host (the machine's own userland); only the id and name differ.
import * as fs from "node:fs";
import * as path from "node:path";
import { Properties } from "../providers/server";
import { localcloudDir, newId } from "./state";
import { ACCOUNT_ID } from "./vpc";

/** One published image. */
export interface LocalImage {
    imageId: string;
    /** The serial Canonical puts in the name (ubuntu-noble-24.04-amd64-server-<serial>). */
    serial: string;
    creationDate: string;
}

/** The image there is before any is published. */
export const DEFAULT_IMAGE: LocalImage = {
    imageId: "ami-0c0ffee0000000001",
    serial: "20250101",
    creationDate: "2025-01-01T00:00:00.000Z",
};

const imagesFile = (): string => path.join(localcloudDir(), "images.json");

/** Every image, oldest first (the default one when none was published). */
export function listImages(): LocalImage[] {
    try {
        return (JSON.parse(fs.readFileSync(imagesFile(), "utf8")) as { images: LocalImage[] }).images;
    } catch {
        return [DEFAULT_IMAGE];
    }
}

/** Publishes a new image, newer than every other; returns it. */
export function publishImage(now = new Date()): LocalImage {
    const images = listImages();
    const newest = images.at(-1);
    const created = new Date(Math.max(now.getTime(), newest ? Date.parse(newest.creationDate) + 1000 : 0));
    const image: LocalImage = {
        imageId: newId("ami-"),
        serial: created.toISOString().replace(/[-:]/g, "").replace("T", ".").slice(0, 15),
        creationDate: created.toISOString(),
    };
    fs.mkdirSync(path.dirname(imagesFile()), { recursive: true });
    fs.writeFileSync(`${imagesFile()}.tmp`, `${JSON.stringify({ images: [...images, image] }, null, 2)}\n`);
    fs.renameSync(`${imagesFile()}.tmp`, imagesFile());
    return image;
}

/** The value of a getAmi filter, e.g. name -> ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*. */
function filterValue(args: Properties, name: string): string | undefined {
    const filters = (args.filters as { name: string; values: string[] }[] | undefined) ?? [];
    return filters.find((filter) => filter.name === name)?.values[0];
}

/** aws:ec2/getAmi:getAmi: the newest image (the only answer the local cloud has), named after the name filter. */
export function getAmi(args: Properties): Properties {
    const image = listImages().at(-1) ?? DEFAULT_IMAGE;
    const pattern = filterValue(args, "name") ?? "local-image-*";
    const architecture = /arm64|aarch64/.test(pattern) ? "arm64" : "x86_64";
    return {
        id: image.imageId,
        imageId: image.imageId,
        name: pattern.replace("*", image.serial),
        architecture,
        creationDate: image.creationDate,
        mostRecent: args.mostRecent ?? false,
        owners: args.owners ?? [],
        ownerId: (args.owners as string[] | undefined)?.[0] ?? ACCOUNT_ID,
        filters: args.filters,
        rootDeviceName: "/dev/sda1",
        rootDeviceType: "ebs",
        virtualizationType: "hvm",
        hypervisor: "xen",
        imageType: "machine",
        state: "available",
        public: true,
        tags: {},
    };
}

if (require.main === module) {
    if (process.argv[2] !== "publish") {
        process.stderr.write("usage: images.ts publish   (publishes a new newest image, prints its id)\n");
        process.exit(2);
    }
    process.stdout.write(`${publishImage().imageId}\n`);
}
