/**
 * `SLING_STATE` → a local file path, and the guard that decides whether backfill may delete it.
 *
 * The seed tool's default is `file://./sling_state.json`. WHATWG URL parsing reads `.` as the host and
 * turns that into `/sling_state.json` (the filesystem root); here the part after `file://` is taken
 * literally, so it stays the relative path `./sling_state.json`. Pure: no filesystem access.
 */
import * as path from "node:path";

export const DEFAULT_SLING_STATE = "file://./sling_state.json";

/** The local path named by `value` (`file://<path>` or a plain path); throws an Error saying why not. */
export function parseStatePath(value: string): string {
  const v = value.trim();
  if (v === "") throw new Error("is empty (use e.g. file://./sling_state.json)");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(v);
  if (!scheme) return v;
  if (scheme[1].toLowerCase() !== "file") {
    throw new Error(
      `"${v}": only file:// state is supported: the job's record is a local JSON file ` +
        "(e.g. file:///var/lib/sling/sling_state.json on a PersistentVolume, or a plain path); Sling keeps " +
        "its incremental position in the target database itself. To put traces in GreptimeDB, send them " +
        "through an OpenTelemetry Collector (docs/sling.md, GreptimeDB)",
    );
  }
  // file://localhost/x is the one host RFC 8089 allows; anything else after file:// is the path itself.
  const rest = v.slice(scheme[0].length).replace(/^localhost\//, "/");
  if (rest === "") throw new Error(`"${v}" names no file`);
  return decodeURIComponent(rest);
}

/**
 * Why backfill must not delete `file` (resolved against `cwd`), or undefined when it may. Refuses the
 * filesystem root, the working directory and its ancestors (`/`, `.`, `..`), and paths that end in a
 * separator: none of them can be a state file, and a `rm -rf` of any would be a disaster.
 */
export function refuseToDelete(file: string, cwd: string): string | undefined {
  const resolved = path.resolve(cwd, file);
  if (resolved === path.parse(resolved).root) return `"${file}" is the filesystem root`;
  const rel = path.relative(path.resolve(cwd), resolved);
  if (rel === "" || rel.split(path.sep).every((p) => p === "" || p === "..")) {
    return `"${file}" is the working directory or one of its parents`;
  }
  if (/[\\/]$/.test(file) || file === "." || file === "..") return `"${file}" names a directory`;
  return undefined;
}
