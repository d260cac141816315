/**
 * Fixtures for tests that run the real Sling CLI: an isolated Sling home, SQLite mission databases
 * created and filled through Sling itself (`sling conns exec`, so no sqlite3 binary is needed), and
 * replication files.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { missionSql } from "../quickstart";

export function slingExec(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      { env: { ...env, SLING_LOGGING: "JSON" }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`sling ${args.slice(0, 3).join(" ")}: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** A mission database at `file` with a telemetry table of ids first..first+count-1 (created if needed). */
export async function addMissionRows(
  bin: string,
  env: NodeJS.ProcessEnv,
  file: string,
  first: number,
  count: number,
): Promise<void> {
  const create = !fs.existsSync(file);
  await slingExec(
    bin,
    ["conns", "exec", "FIXTURE_DB", missionSql(["temp", "pressure"], first, count, create)],
    {
      ...env,
      FIXTURE_DB: `sqlite://${path.resolve(file)}`,
    },
  );
}

export function writeReplication(
  file: string,
  r: { source: string; target: string; stream: string; object: string; mode?: string },
): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    [
      `source: ${r.source}`,
      `target: ${r.target}`,
      "defaults:",
      `  mode: ${r.mode ?? "incremental"}`,
      ...(r.mode === undefined || r.mode === "incremental"
        ? ["  primary_key: [id]", "  update_key: id"]
        : []),
      "streams:",
      `  ${r.stream}:`,
      `    object: '${r.object}'`,
      "",
    ].join("\n"),
  );
}
