/**
 * Finds the Sling binary named by SLING_BIN (a path, or a command looked up on PATH like a shell does)
 * and checks it runs, so a missing or broken binary is one clear error before any pipeline starts.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConveyorError } from "../../errors";

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Absolute path of `bin`; throws SLING_UNAVAILABLE naming where it looked. */
export function resolveSlingBinary(bin: string, env: NodeJS.ProcessEnv = process.env): string {
  if (bin.includes("/")) {
    const abs = path.resolve(bin);
    if (executable(abs)) return abs;
    throw new ConveyorError(
      "SLING_UNAVAILABLE",
      `SLING_BIN: ${bin} is not an executable file (install Sling, e.g. pip install sling, or fix SLING_BIN)`,
      { bin },
    );
  }
  const dirs = (env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  for (const d of dirs) {
    const candidate = path.join(d, bin);
    if (executable(candidate)) return candidate;
  }
  throw new ConveyorError(
    "SLING_UNAVAILABLE",
    `SLING_BIN: "${bin}" is not on PATH (install Sling, e.g. pip install sling, or set SLING_BIN to its path)`,
    { bin },
  );
}

/** `sling --version`'s version string; throws SLING_UNAVAILABLE when the binary does not run. */
export function slingVersion(bin: string, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, ["--version"], { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new ConveyorError(
            "SLING_UNAVAILABLE",
            `${bin} --version failed: ${(stderr || err.message).trim().split("\n")[0]}`,
            { bin },
            { cause: err },
          ),
        );
        return;
      }
      const m = /Version:?\s*(\S+)/i.exec(stdout);
      resolve(m ? m[1] : stdout.trim());
    });
  });
}
