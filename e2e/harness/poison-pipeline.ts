/**
 * The dead-letter scenario three e2e tests share (dead-letter, dlq-replay, console): pipeline "checked" — a
 * generator "gen" in pod A, the transform "check" in pod B (e2e/stages/poison-transform.ts) that
 * fails some records until the file `healed` appears, built-in file sinks for the output and the
 * dead letters (one retry, short backoffs).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LocalCluster } from "../../src/cluster/local-cluster";

/** Same rule as e2e/stages/poison-transform.ts: how it fails record gen-<index> while not healed. */
export function poisonOf(index: number): "retryable" | "fatal" | undefined {
  if (index % 10 === 3) return "retryable";
  if (index % 50 === 7) return "fatal";
  return undefined;
}

export function poisoned(index: number): boolean {
  return poisonOf(index) !== undefined;
}

export interface PoisonScenario {
  outDir: string;
  dlqDir: string;
  /** Create this file to "fix" the transform. */
  healed: string;
  /** Where the transform logs each failure it returned. */
  failLog: string;
  /** The definition of pipeline "checked" (YAML). */
  definition: string;
}

export function poisonScenario(
  dir: string,
  retries: { maxRetries: number; backoffMs: number; maxBackoffMs: number } = {
    maxRetries: 1,
    backoffMs: 20,
    maxBackoffMs: 50,
  },
): PoisonScenario {
  const outDir = path.join(dir, "out");
  const dlqDir = path.join(dir, "dlq");
  return {
    outDir,
    dlqDir,
    healed: path.join(dir, "healed"),
    failLog: path.join(dir, "failures.ndjson"),
    definition: `name: checked
source: { stage: gen }
steps: [ { stage: check } ]
sink: { builtin: file, config: { dir: ${outDir} } }
dlq:
  sink: { builtin: file, config: { dir: ${dlqDir} } }
  maxRetries: ${retries.maxRetries}
  backoffMs: ${retries.backoffMs}
  maxBackoffMs: ${retries.maxBackoffMs}
`,
  };
}

/** Writes the definition into <dir>/pipelines (a router's --pipelines-dir) and returns that folder. */
export function writePoisonPipelineDir(dir: string, scenario: PoisonScenario): string {
  const pipelines = path.join(dir, "pipelines");
  fs.mkdirSync(pipelines, { recursive: true });
  fs.writeFileSync(path.join(pipelines, "checked.yaml"), scenario.definition);
  return pipelines;
}

/** Starts gen (pod A) and the poison transform check (pod B), both on `port` of their pod. */
export async function startPoisonStages(
  cluster: LocalCluster,
  scenario: PoisonScenario,
  o: { podA: string; podB: string; port: number; count: number; rate?: number },
): Promise<void> {
  await cluster.startStage({
    kind: "source",
    name: "gen",
    host: o.podA,
    port: o.port,
    count: o.count,
    ...(o.rate !== undefined ? { rate: o.rate } : {}),
  });
  await cluster.startCustomStage(
    "poison-transform",
    "e2e/stages/poison-transform.ts",
    [
      ...["--name", "check", "--host", o.podB, "--port", String(o.port)],
      ...["--fail-log", scenario.failLog, "--healed-when", scenario.healed],
    ],
    `${o.podB}:${o.port}`,
  );
}
