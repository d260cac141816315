/**
 * Where tests find external tools installed by scripts/setup.sh:
 * ${CONVEYOR_CACHE:-~/.cache/conveyor}/bin/<name>. Nothing is put on PATH.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type ToolName = "grpcurl" | "sling" | "promtool" | "kcat" | "etcd" | "jaeger";

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

/**
 * The Python of the venv with grpcio, grpcio-tools, grpcio-reflection and
 * grpcio-health-checking (scripts/setup.sh install_py_grpc): it runs stage
 * services written in Python and generates their stubs with grpc_tools.protoc.
 */
export function grpcPython(env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(cacheDir(env), "py-grpc-venv", "bin", "python");
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch (err) {
    throw new Error(`the grpcio venv is not installed at ${file}: run scripts/setup.sh`, { cause: err });
  }
  return file;
}
