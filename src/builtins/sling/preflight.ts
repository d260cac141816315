/**
 * `noop` mode: checks everything a run needs without moving a row or writing a file.
 *   1. the Sling binary (SLING_BIN) exists and runs (`sling --version`);
 *   2. every pipeline file is a replication (source, target, streams);
 *   3. every connection a replication names is known to Sling (`sling conns list`: env vars holding
 *      URLs, ~/.sling/env.yaml, built-ins such as LOCAL) — Sling's own view, not a guess from env names;
 *   4. the state file, if present, is readable.
 */
import { execFile } from "node:child_process";
import { asConveyorError } from "../../errors";
import type { PipelineFile } from "./pipelines";
import { loadReplication, parseConnsList, referencedConnections } from "./replication";
import { resolveSlingBinary, slingVersion } from "./sling-binary";
import { slingChildEnv } from "./sling-process";
import type { StateStore } from "./state-store";

export interface PipelineCheck {
  name: string;
  file: string;
  source?: string;
  target?: string;
  streams: number;
  problems: string[];
}

export interface PreflightReport {
  slingBin?: string;
  slingVersion?: string;
  connections: string[];
  pipelines: PipelineCheck[];
  /** Every problem, each naming its file or setting; empty = ready to run. */
  problems: string[];
}

export function listConnections(bin: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(bin, ["conns", "list"], { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`${bin} conns list failed: ${(stderr || err.message).trim().split("\n")[0]}`));
      else resolve(parseConnsList(stdout));
    });
  });
}

export async function preflight(
  slingBinSetting: string,
  pipelines: PipelineFile[],
  env: NodeJS.ProcessEnv,
  state?: { store: StateStore; clusterId: string },
): Promise<PreflightReport> {
  const report: PreflightReport = { connections: [], pipelines: [], problems: [] };
  const childEnv = slingChildEnv(env);
  let known: Set<string> | undefined;
  try {
    const bin = resolveSlingBinary(slingBinSetting, env);
    report.slingBin = bin;
    report.slingVersion = await slingVersion(bin, childEnv);
    report.connections = await listConnections(bin, childEnv);
    // Sling upper-cases connection names (env var names); match the same way.
    known = new Set(report.connections.map((c) => c.toUpperCase()));
  } catch (err) {
    report.problems.push(asConveyorError(err, "SLING_UNAVAILABLE").message);
  }
  for (const p of pipelines) {
    const { replication, problems } = loadReplication(p.file);
    const check: PipelineCheck = { name: p.name, file: p.file, streams: 0, problems: [...problems] };
    if (replication) {
      check.source = replication.source;
      check.target = replication.target;
      check.streams = replication.streams.length;
      for (const conn of referencedConnections(replication)) {
        if (known && !known.has(conn.toUpperCase())) {
          check.problems.push(
            `${p.file}: connection "${conn}" is not defined (set env var ${conn.toUpperCase()} to its URL, ` +
              `e.g. ${conn.toUpperCase()}=postgresql://user:pass@host:5432/db)`,
          );
        }
      }
    }
    report.pipelines.push(check);
    report.problems.push(...check.problems);
  }
  if (state) {
    try {
      state.store.read(state.clusterId);
    } catch (err) {
      report.problems.push(asConveyorError(err).message);
    }
  }
  return report;
}
