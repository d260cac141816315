/**
 * Where tests find external tools installed by scripts/setup.sh:
 * ${CONVEYOR_CACHE:-~/.cache/conveyor}/bin/<name>. Nothing is put on PATH.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type ToolName = "grpcurl" | "sling" | "promtool" | "kcat" | "etcd";

/** The cache directory scripts/setup.sh installs into. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CONVEYOR_CACHE;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : path.join(os.homedir(), ".cache", "conveyor");
}

/** Absolute path of an installed tool; throws a clear error when it is missing. */
export function toolPath(name: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(cacheDir(env), "bin", name);
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch (err) {
    throw new Error(`${name} is not installed at ${file}: run scripts/setup.sh`, { cause: err });
  }
  return file;
}
