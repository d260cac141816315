/**
 * V8's code cache on disk for every module loaded after this one, so a second start of the CLI (a pod
 * restart, the next `conveyor status`) compiles nothing it compiled before. Node ≥ 22.1 has
 * `module.enableCompileCache` (default directory: `<tmpdir>/node-compile-cache`, keyed by Node version
 * and file contents); Node 20 has none and this does nothing there. `NODE_COMPILE_CACHE=<dir>` picks
 * the directory and `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as Node documents.
 */
import * as nodeModule from "node:module";

const enable = (nodeModule as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
if (enable && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  try {
    enable();
  } catch {
    // An unwritable cache directory costs only the speed-up.
  }
}
