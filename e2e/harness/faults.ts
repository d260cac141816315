/**
 * Helpers for the fault-injection tests (issue #4): a seeded random source
 * for chaos schedules, a sidecar's RSS, a Prometheus counter, and a sink file
 * scan that counts every generator id (duplicates, gaps, torn lines).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LocalCluster } from "../../src/cluster/local-cluster";
import { fetchMetrics, sumSamples } from "./metrics";

/** mulberry32: a small seeded PRNG, so a failing chaos run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from `envVar` when set (to replay a run), else a random one. */
export function seedFrom(envVar: string): number {
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== "") {
    const n = Number(fromEnv);
    if (!Number.isInteger(n)) throw new Error(`${envVar} must be an integer, got "${fromEnv}"`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** Resident set size of a process in MiB (VmRSS in /proc/<pid>/status); undefined once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The sum of a counter's samples whose labels include all of `labels`, from a /metrics endpoint. */
export async function scrapeCounter(
  url: string,
  name: string,
  labels: { [label: string]: string },
): Promise<number> {
  return sumSamples(await fetchMetrics(url, 3000), name, labels);
}

export interface SinkScan {
  /** Complete records in the file (duplicates included). */
  records: number;
  /** Distinct ids 0..count-1 present. */
  unique: number;
  /** records − unique (ids outside 0..count-1 are counted in `foreign`). */
  duplicates: number;
  /** Ids in 0..count-1 that are not in the file (the first 20). */
  missing: number[];
  missingCount: number;
  /** Pieces of lines that are not a complete record (a write cut short by kill -9). */
  torn: number;
  /** Complete records whose id is not `${prefix}-<i>` with i < count. */
  foreign: number;
  /** How often each id occurs (index = i). */
  occurrences: Uint16Array;
}

const RECORD_START = '{"id":';

/**
 * Counts every `${prefix}-<i>` id in an NDJSON sink file. A sink killed in
 * the middle of a write may leave a partial line that the next write
 * continues; such a line is split where a record starts (`{"id":` never occurs
 * inside a record: values are JSON strings, their quotes are escaped), and the
 * partial piece is counted as torn, not as a record (it was never confirmed).
 */
export function scanSinkFile(file: string, prefix: string, count: number): SinkScan {
  const occurrences = new Uint16Array(count);
  let records = 0;
  let torn = 0;
  let foreign = 0;
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const idPrefix = `${prefix}-`;
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    const pieces = line.split(RECORD_START).filter((p) => p.length > 0);
    for (const piece of pieces) {
      let id: unknown;
      try {
        id = (JSON.parse(RECORD_START + piece) as { id?: unknown }).id;
      } catch {
        torn++;
        continue;
      }
      records++;
      const i = typeof id === "string" && id.startsWith(idPrefix) ? Number(id.slice(idPrefix.length)) : NaN;
      if (Number.isInteger(i) && i >= 0 && i < count) occurrences[i] = Math.min(occurrences[i]! + 1, 65535);
      else foreign++;
    }
  }
  let unique = 0;
  const missing: number[] = [];
  let missingCount = 0;
  for (let i = 0; i < count; i++) {
    if (occurrences[i]! > 0) unique++;
    else {
      missingCount++;
      if (missing.length < 20) missing.push(i);
    }
  }
  return {
    records,
    unique,
    duplicates: records - foreign - unique,
    missing,
    missingCount,
    torn,
    foreign,
    occurrences,
  };
}

/** Resolves after ms (pacing a driver; never used as an assertion). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The last `bytes` of a log file, for failure messages. */
export function logTail(file: string, bytes = 4000): string {
  try {
    const text = fs.readFileSync(file, "utf8");
    return text.slice(-bytes);
  } catch {
    return `(no log at ${file})`;
  }
}

/**
 * The afterAll of a cluster test: stops every process; when the test failed,
 * prints the tail of each process's log; removes the work dir unless
 * KEEP_E2E_DIR is set (then says where it is).
 */
export async function tearDownCluster(
  cluster: LocalCluster,
  dir: string,
  name: string,
  failed: boolean,
): Promise<void> {
  await cluster.stopAll(5000);
  if (failed) {
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".log")))
      console.log(`--- ${f} (tail)\n${logTail(path.join(dir, f), 2500)}`);
  }
  if (process.env.KEEP_E2E_DIR) console.log(`${name}: work dir kept: ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}
