// Root hooks for every mocha run (.mocharc.json requires this file): in a parallel run they run
// after each file, where a root hook a helper module registers would run after the first only.
import { removeTempDirs } from "./core/helpers";

export const mochaHooks = {
    afterAll(): void {
        removeTempDirs();
    },
};
