/**
 * What both bench variants share: options and result shapes, waiting for the
 * measuring sink (src/demo/measuring-sink.ts) to see every record, per-process
 * CPU time from /proc, CPU-profile summaries, and the result table.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ManagedProcess } from "../src/cluster/managed-process";
import type { LatencySummary, SinkStats } from "../src/demo/measuring-sink";

/**
 * conveyor-ordered: the conveyor variant with `settings.ordering: key` (64 keys, as the generator makes).
 * conveyor-traced-1 / -100: the conveyor variant with tracing on in both sidecars, sampling 1 % / 100 %
 * of the records (bench/conveyor.ts).
 */
export const VARIANTS = [
  "direct",
  "conveyor",
  "conveyor-ordered",
  "conveyor-mtls",
  "conveyor-traced-1",
  "conveyor-traced-100",
] as const;
export type VariantName = (typeof VARIANTS)[number];

export interface VariantOptions {
  /** Records the source produces (and the sink must see). */
  records: number;
  payloadBytes: number;
  /** Records per batch on every hop (pipeline settings.batchSize; the driver's chunk size). */
  batchSize: number;
  /** Records read and not yet confirmed (pipeline settings.maxInFlightRecords; the driver's credits). */
  inFlightRecords: number;
  /** Source rate limit in records/s (undefined = as fast as credits allow). */
  rate?: number;
  /** Records at the start kept out of the latency figures. */
  warmupRecords: number;
  /** Work directory of this run of this variant (logs, stats file, profiles). */
  dir: string;
  /** Env for every child process (LOG_LEVEL, NODE_OPTIONS for --cpu-prof). */
  env: NodeJS.ProcessEnv;
  /** Set when child processes write V8 CPU profiles into this directory. */
  cpuProfDir?: string;
  /** Give up when the sink count has not moved for this long. */
  stallMs: number;
  /** Sample every process's RSS this often during the flow (VariantResult.rssTimeline); off when unset. */
  rssEveryMs?: number;
  log(line: string): void;
}

export interface ProcessCpu {
  process: string;
  pid: number;
  /** CPU seconds (user + system) between the start of the flow and the last record. */
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  /** Peak resident set size (VmHWM) in MiB when the last record arrived; undefined when unavailable. */
  peakRssMiB?: number;
}

/** VmHWM (peak RSS since the process started) in MiB, from /proc/<pid>/status. */
export function readPeakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? round(Number(m[1]) / 1024, 1) : undefined;
  } catch {
    return undefined;
  }
}

export interface HotFunction {
  function: string;
  location: string;
  selfMs: number;
  selfPct: number;
}

export interface ProfileSummary {
  process: string;
  pid: number;
  /** Sampled CPU time inside the measurement window (ms), and the share of each category. */
  sampledMs: number;
  categories: { [category: string]: number };
  /** By self time. */
  top: HotFunction[];
  /** By inclusive time (selfMs/selfPct hold the inclusive figures), generic and node: frames left out. */
  topInclusive: HotFunction[];
}

export interface VariantResult {
  variant: VariantName;
  repeat: number;
  records: number;
  /** Records the sink saw (≥ records; more only if something was re-delivered). */
  received: number;
  /** Sink time from the first to the last record. */
  durationMs: number;
  recordsPerSec: number;
  /** Throughput after the warm-up records (first warm-up record excluded). */
  steadyRecordsPerSec: number;
  latencyMs: LatencySummary;
  cpu: ProcessCpu[];
  totalCpuSeconds: number;
  /** CPU microseconds spent per record, all processes together. */
  cpuMicrosPerRecord: number;
  /** Wall-clock ms of the first and last record at the sink. */
  firstAtMs: number;
  lastAtMs: number;
  /** CPU the rest of the machine used meanwhile (a busy machine makes both variants slower). */
  contention: Contention;
  profiles?: ProfileSummary[];
  /** Traced variants: what the sidecars exported to the bench's OTLP receiver. */
  otlp?: { requests: number; bytes: number };
  /** RSS of every process over the flow, when VariantOptions.rssEveryMs is set. */
  rssTimeline?: RssSample[];
}

export interface RssSample {
  /** Since the flow began. */
  atMs: number;
  /** VmRSS in MiB per process name. */
  rssMiB: Record<string, number>;
}

/** VmRSS (current resident set size) in MiB, from /proc/<pid>/status. */
export function readRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? round(Number(m[1]) / 1024, 1) : undefined;
  } catch {
    return undefined;
  }
}

function sampleRss(procs: NamedProcess[], startedMs: number): RssSample {
  const rssMiB: Record<string, number> = {};
  for (const p of procs) {
    const r = readRssMiB(p.process.pid);
    if (r !== undefined) rssMiB[p.name] = r;
  }
  return { atMs: Date.now() - startedMs, rssMiB };
}

export interface NamedProcess {
  name: string;
  process: ManagedProcess;
}

const CLOCK_TICKS_PER_SEC = 100; // getconf CLK_TCK; 100 on every Linux this runs on

interface CpuSample {
  user: number;
  system: number;
}

/** utime and stime of a process in seconds, from /proc/<pid>/stat (undefined when gone or not Linux). */
export function readProcCpu(pid: number): CpuSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return {
      user: Number(fields[11]) / CLOCK_TICKS_PER_SEC,
      system: Number(fields[12]) / CLOCK_TICKS_PER_SEC,
    };
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = Map<number, CpuSample>;

/** Busy CPU seconds of the whole machine (all CPUs) from /proc/stat; 0 when unavailable. */
export function readSystemBusySeconds(): number {
  try {
    const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    // cpu user nice system idle iowait irq softirq steal …
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / CLOCK_TICKS_PER_SEC;
  } catch {
    return 0;
  }
}

/**
 * Waits (up to maxWaitMs) until the machine is mostly idle — busy below
 * maxShare of its capacity over a 2 s window — so other work does not skew
 * the figures. Returns the last measured share.
 */
export async function waitForQuietMachine(
  maxWaitMs: number,
  maxShare: number,
  log: (line: string) => void,
): Promise<number> {
  const until = Date.now() + maxWaitMs;
  let logged = false;
  for (;;) {
    const before = readSystemBusySeconds();
    await sleep(2000);
    const share = (readSystemBusySeconds() - before) / (2 * os.cpus().length);
    if (share <= maxShare || Date.now() >= until) {
      if (share > maxShare) log(`  machine still ${Math.round(share * 100)}% busy; measuring anyway`);
      return round(share, 3);
    }
    if (!logged)
      log(
        `  machine ${Math.round(share * 100)}% busy with other work; waiting up to ${Math.round(maxWaitMs / 1000)} s for it to calm down`,
      );
    logged = true;
  }
}

/** CPU used during a run: by the measured processes, and by everything else on the machine. */
export interface Contention {
  wallSeconds: number;
  /** Busy CPU seconds of the whole machine during the run. */
  machineBusySeconds: number;
  /** Of those, not spent by the measured processes (other work on the machine, the bench process itself). */
  otherBusySeconds: number;
  /** otherBusySeconds as a share of the machine's capacity during the run (0..1). */
  otherShare: number;
}

export function contention(
  startWallMs: number,
  endWallMs: number,
  busyBefore: number,
  busyAfter: number,
  cpu: ProcessCpu[],
): Contention {
  const wallSeconds = Math.max(0.001, (endWallMs - startWallMs) / 1000);
  const machineBusySeconds = round(busyAfter - busyBefore, 2);
  const ours = cpu.reduce((s, c) => s + c.cpuSeconds, 0);
  const otherBusySeconds = round(Math.max(0, machineBusySeconds - ours), 2);
  return {
    wallSeconds: round(wallSeconds, 2),
    machineBusySeconds,
    otherBusySeconds,
    otherShare: round(otherBusySeconds / (wallSeconds * os.cpus().length), 3),
  };
}

export function cpuSnapshot(procs: NamedProcess[]): CpuSnapshot {
  const snap: CpuSnapshot = new Map();
  for (const p of procs) {
    const s = readProcCpu(p.process.pid);
    if (s) snap.set(p.process.pid, s);
  }
  return snap;
}

export function cpuDelta(procs: NamedProcess[], before: CpuSnapshot, after: CpuSnapshot): ProcessCpu[] {
  return procs.map((p) => {
    const pid = p.process.pid;
    const a = after.get(pid) ?? { user: 0, system: 0 };
    const b = before.get(pid) ?? { user: 0, system: 0 };
    const user = round(a.user - b.user, 2);
    const system = round(a.system - b.system, 2);
    return {
      process: p.name,
      pid,
      cpuSeconds: round(user + system, 2),
      userSeconds: user,
      systemSeconds: system,
      peakRssMiB: readPeakRssMiB(pid),
    };
  });
}

export function readSinkStats(file: string): SinkStats | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as SinkStats;
  } catch {
    return undefined;
  }
}

/**
 * Polls the sink's stats file until it counted `records`; fails when the
 * count stops moving for stallMs or a watched process dies.
 */
export async function waitForSink(
  file: string,
  records: number,
  o: { stallMs: number; watch: NamedProcess[]; log(line: string): void },
): Promise<SinkStats> {
  let lastCount = -1;
  let lastMoveMs = Date.now();
  let lastLogMs = Date.now();
  for (;;) {
    const stats = readSinkStats(file);
    const count = stats?.count ?? 0;
    if (stats && count >= records) return stats;
    const now = Date.now();
    if (count !== lastCount) {
      lastCount = count;
      lastMoveMs = now;
    } else if (now - lastMoveMs > o.stallMs) {
      throw new Error(`sink stalled at ${count} of ${records} records for ${o.stallMs} ms`);
    }
    if (now - lastLogMs >= 5000) {
      lastLogMs = now;
      o.log(`  … ${count} of ${records} records at the sink`);
    }
    const dead = o.watch.find((p) => !p.process.running);
    if (dead)
      throw new Error(
        `${dead.name} exited during the run; last output:\n${dead.process.output().slice(-3000)}`,
      );
    await sleep(100);
  }
}

export function variantResult(
  variant: VariantName,
  repeat: number,
  o: VariantOptions,
  stats: SinkStats,
  cpu: ProcessCpu[],
  load: Contention,
): VariantResult {
  const durationMs = Math.max(1, stats.lastAtMs - stats.firstAtMs);
  const steadyMs = Math.max(1, stats.lastAtMs - stats.warmupEndAtMs);
  const totalCpuSeconds = round(
    cpu.reduce((s, c) => s + c.cpuSeconds, 0),
    2,
  );
  return {
    variant,
    repeat,
    records: o.records,
    received: stats.count,
    durationMs,
    recordsPerSec: Math.round((stats.count / durationMs) * 1000),
    steadyRecordsPerSec: Math.round(((stats.count - stats.warmupRecords) / steadyMs) * 1000),
    latencyMs: stats.latencyMs,
    cpu,
    totalCpuSeconds,
    cpuMicrosPerRecord: round((totalCpuSeconds * 1e6) / stats.count, 1),
    firstAtMs: stats.firstAtMs,
    lastAtMs: stats.lastAtMs,
    contention: load,
  };
}

// ---------------------------------------------------------------------------
// CPU profiles (node --cpu-prof): self time per function inside the measurement window.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Rough buckets that say where the CPU went. */
export function categoryOf(url: string, functionName: string): string {
  if (functionName === "(garbage collector)") return "gc";
  if (functionName === "(idle)") return "idle";
  if (functionName === "(program)" || functionName === "(root)") return "v8/native";
  if (url.includes("@grpc/grpc-js")) return "grpc-js";
  if (url.includes("protobufjs") || url.includes("@grpc/proto-loader")) return "protobufjs";
  if (url.includes("prom-client")) return "prom-client";
  if (url.includes("pino")) return "pino";
  if (url.includes("node_modules")) return "other deps";
  if (url.includes("/sidecar/")) return "conveyor sidecar";
  if (url.includes("/src/sdk/")) return "conveyor sdk";
  if (url.includes("/src/") || url.includes("/bench/")) return "conveyor src/bench";
  if (url.startsWith("node:") || url === "") return "node internals";
  return "other";
}

/**
 * Summarises one .cpuprofile: self time per function and per category, only
 * for samples between fromMono and toMono (CLOCK_MONOTONIC µs, the clock V8
 * and process.hrtime share on Linux); the whole profile when the window
 * does not overlap it.
 */
/** Frames on every stack that say nothing about where the time goes. */
const GENERIC_FRAMES = new Set([
  "(root)",
  "(program)",
  "(garbage collector)",
  "(anonymous)",
  "",
  "processTicksAndRejections",
  "runMicrotasks",
]);

export function summarizeProfile(
  file: string,
  name: string,
  pid: number,
  fromMono: number,
  toMono: number,
  topN = 15,
): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inWindow = profile.endTime >= fromMono && profile.startTime <= toMono;
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (inWindow && (t < fromMono || t > toMono)) continue;
    // A sample's time delta is the time until the next sample: attribute it to this node.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + dt);
  }
  const byFunction = new Map<string, { function: string; location: string; us: number }>();
  const categories = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const category = categoryOf(url, functionName);
    if (category === "idle") continue;
    totalUs += us;
    categories.set(category, (categories.get(category) ?? 0) + us);
    const location = url ? `${shortUrl(url)}:${lineNumber + 1}` : "";
    const key = `${functionName}@${location}`;
    const f = byFunction.get(key) ?? { function: functionName || "(anonymous)", location, us: 0 };
    f.us += us;
    byFunction.set(key, f);
  }
  const pct = (us: number): number => (totalUs ? round((us / totalUs) * 100, 1) : 0);
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, { function: string; location: string; us: number }>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)?.callFrame.functionName === "(idle)") continue;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const { functionName, url, lineNumber } = byId.get(n)!.callFrame;
      if (GENERIC_FRAMES.has(functionName) || url.startsWith("node:")) continue;
      const location = url ? `${shortUrl(url)}:${lineNumber + 1}` : "";
      const key = `${functionName}@${location}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const f = inclusive.get(key) ?? { function: functionName || "(anonymous)", location, us: 0 };
      f.us += us;
      inclusive.set(key, f);
    }
  }
  return {
    topInclusive: [...inclusive.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({
        function: f.function,
        location: f.location,
        selfMs: Math.round(f.us / 1000),
        selfPct: pct(f.us),
      })),
    process: name,
    pid,
    sampledMs: Math.round(totalUs / 1000),
    categories: Object.fromEntries(
      [...categories].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, pct(us)]),
    ),
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({
        function: f.function,
        location: f.location,
        selfMs: Math.round(f.us / 1000),
        selfPct: pct(f.us),
      })),
  };
}

function shortUrl(url: string): string {
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("node_modules/");
  if (nm >= 0) return u.slice(nm + "node_modules/".length);
  const root = path.resolve(__dirname, "..") + "/";
  return u.startsWith(root) ? u.slice(root.length) : u;
}

/**
 * A preload script (node --require, through NODE_OPTIONS: `--cpu-prof` itself
 * is not allowed there) that samples the process with the in-process
 * inspector and writes <dir>/CPU.<pid>.cpuprofile when the process exits.
 * Written into the run's work directory, not the repo.
 */
export function writeProfilerPreload(file: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    file,
    `"use strict";
const fs = require("node:fs");
const inspector = require("node:inspector");
const session = new inspector.Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.setSamplingInterval", { interval: 1000 });
session.post("Profiler.start");
process.on("exit", () => {
  // The in-process session answers synchronously, so this completes before exit.
  session.post("Profiler.stop", (err, res) => {
    if (!err) fs.writeFileSync(${JSON.stringify(dir)} + "/CPU." + process.pid + ".cpuprofile", JSON.stringify(res.profile));
  });
});
`,
  );
}

/** Profiles written by the children (CPU.<pid>.cpuprofile), matched by pid. */
export function summarizeProfiles(
  dir: string,
  procs: NamedProcess[],
  fromMono: number,
  toMono: number,
): ProfileSummary[] {
  if (!fs.existsSync(dir)) return [];
  const out: ProfileSummary[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".cpuprofile"))) {
    const pid = Number(/(\d+)\.cpuprofile$/.exec(f)?.[1]);
    const p = procs.find((x) => x.process.pid === pid);
    if (!p) continue;
    out.push(summarizeProfile(path.join(dir, f), p.name, pid, fromMono, toMono));
  }
  return out;
}

/** Wall-clock ms → CLOCK_MONOTONIC µs (the clock of V8 profile timestamps). */
export function wallToMonoMicros(wallMs: number): number {
  const monoNowUs = Number(process.hrtime.bigint() / 1000n);
  return monoNowUs - (Date.now() - wallMs) * 1000;
}

// ---------------------------------------------------------------------------

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Least-squares line y = intercept + slope · x through the points, and r² (1 = on the line; 1 also
 * when every y is the same). Needs at least two distinct x.
 */
export function linearFit(xs: number[], ys: number[]): { slope: number; intercept: number; r2: number } {
  if (xs.length !== ys.length) throw new Error(`linearFit: ${xs.length} x but ${ys.length} y`);
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    syy += (ys[i]! - my) ** 2;
  }
  if (!(sxx > 0)) throw new Error("linearFit: needs at least two distinct x");
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A plain text table; numbers right-aligned. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [
    header,
    ...rows.map((r) => r.map((c) => (typeof c === "number" ? c.toLocaleString("en-US") : c))),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const numeric = header.map((_, i) =>
    rows.every((r) => typeof r[i] === "number" || r[i] === "—" || r[i] === ""),
  );
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * One measured run, the same for every variant: CPU and machine load around
 * the flow, from `begin()` until the sink has seen every record; then `stop()`
 * (before profiles are read, since V8 writes them on exit).
 */
export async function measureRun(
  variant: VariantName,
  repeat: number,
  o: VariantOptions,
  procs: NamedProcess[],
  statsFile: string,
  begin: () => void,
  stop: () => Promise<void>,
): Promise<VariantResult> {
  const before = cpuSnapshot(procs);
  const busyBefore = readSystemBusySeconds();
  const startedMs = Date.now();
  begin();
  const timeline: RssSample[] = [];
  const sampler = o.rssEveryMs
    ? setInterval(() => timeline.push(sampleRss(procs, startedMs)), o.rssEveryMs)
    : undefined;
  let stats: SinkStats;
  try {
    stats = await waitForSink(statsFile, o.records, { stallMs: o.stallMs, watch: procs, log: o.log });
  } finally {
    if (sampler) clearInterval(sampler);
  }
  if (sampler) timeline.push(sampleRss(procs, startedMs));
  const after = cpuSnapshot(procs);
  const cpu = cpuDelta(procs, before, after);
  const load = contention(startedMs, Date.now(), busyBefore, readSystemBusySeconds(), cpu);
  const result = variantResult(variant, repeat, o, stats, cpu, load);
  if (sampler) result.rssTimeline = timeline;
  await stop();
  if (o.cpuProfDir) {
    result.profiles = summarizeProfiles(
      o.cpuProfDir,
      procs,
      wallToMonoMicros(stats.firstAtMs),
      wallToMonoMicros(stats.lastAtMs),
    );
  }
  return result;
}
