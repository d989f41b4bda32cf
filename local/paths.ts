// Where the local layer keeps its state: under the repository's gitignored .local directory.
import * as path from "path";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const LOCAL_DIR = path.join(REPO_ROOT, ".local");
/** The release mirror's files, built once from the local etcd binaries. */
export const MIRROR_DIR = path.join(LOCAL_DIR, "mirror");
