/**
 * `tsx bench/run.ts soak`: the pipeline at a fixed rate for a long time (issue #13's soak: 10 minutes at
 * 1,000 records/s), with every process's RSS sampled every 5 s, against the same services wired
 * directly at the same rate for the latency baseline, in the same run.
 *
 *   tsx bench/run.ts soak [--minutes 10] [--rate 1000] [--baseline-minutes 1] [--payload-bytes 1024]
 *                         [--out bench/results/soak.json]
 *
 * Reports per sidecar: RSS after warm-up (the first minute, or a tenth of the run if shorter), at the
 * end and at most, its growth after warm-up, vCPU used at that rate; the p99 the two sidecars add over
 * direct; and records lost (the run fails if the sink stops short).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, Option } from "commander";
import { runConveyor } from "./conveyor";
import { DIRECT_DEFAULTS, runDirect } from "./direct";
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import { median, round, type RssSample, type VariantOptions, type VariantResult } from "./stats";

const RESULTS_DIR = path.resolve(__dirname, "results");
const SIDECARS = ["sidecar A", "sidecar B"] as const;

export interface SidecarSoak {
  process: string;
  warmRssMiB: number;
  endRssMiB: number;
  maxRssMiB: number;
  medianRssMiB: number;
  growthAfterWarmupPercent: number;
  vcpu: number;
}

/** RSS figures of one process over a timeline; warm-up ends at `warmupMs`. */
export function rssFigures(
  timeline: RssSample[],
  name: string,
  warmupMs: number,
): Omit<SidecarSoak, "vcpu" | "process"> {
  const series = timeline
    .filter((s) => s.rssMiB[name] !== undefined)
    .map((s) => ({ atMs: s.atMs, rss: s.rssMiB[name]! }));
  if (series.length === 0) throw new Error(`soak: no RSS samples of ${name}`);
  const warm = series.find((s) => s.atMs >= warmupMs) ?? series[series.length - 1]!;
  const after = series.filter((s) => s.atMs >= warm.atMs).map((s) => s.rss);
  const end = series[series.length - 1]!.rss;
  return {
    warmRssMiB: warm.rss,
    endRssMiB: end,
    maxRssMiB: Math.max(...after),
    medianRssMiB: median(after),
    growthAfterWarmupPercent: round(((end - warm.rss) / warm.rss) * 100, 1),
  };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command("soak")
    .addOption(new Option("--minutes <m>", "length of the Conveyor run").default("10"))
    .addOption(new Option("--rate <n>", "records/s the source sends").default("1000"))
    .addOption(
      new Option("--baseline-minutes <m>", "length of the direct run (latency baseline)").default("1"),
    )
    .addOption(new Option("--payload-bytes <b>", "record value size").default("1024"))
    .addOption(new Option("--out <file>", "JSON results").default(path.join(RESULTS_DIR, "soak.json")));
  program.parse(argv, { from: "user" });
  const opts = program.opts<{
    minutes: string;
    rate: string;
    baselineMinutes: string;
    payloadBytes: string;
    out: string;
  }>();
  const rate = Number(opts.rate);
  const minutes = Number(opts.minutes);
  const baselineMinutes = Number(opts.baselineMinutes);
  if (!(rate > 0) || !(minutes > 0) || !(baselineMinutes >= 0))
    throw new Error("soak: --rate and --minutes must be > 0");
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-soak-"));
  const options = (name: string, records: number): VariantOptions => {
    const dir = path.join(workDir, name);
    fs.mkdirSync(dir, { recursive: true });
    return {
      records,
      payloadBytes: Number(opts.payloadBytes),
      rate,
      batchSize: DEFAULT_SETTINGS.batchSize,
      inFlightRecords: DEFAULT_SETTINGS.maxInFlightRecords,
      warmupRecords: Math.min(records / 10, rate * 10),
      dir,
      env: { ...process.env, LOG_LEVEL: "warn" },
      stallMs: 30_000,
      rssEveryMs: 5000,
      log: say,
    };
  };

  let direct: VariantResult | undefined;
  if (baselineMinutes > 0) {
    say(`soak: direct at ${rate}/s for ${baselineMinutes} min (latency baseline)`);
    direct = await runDirect(
      { ...options("direct", rate * 60 * baselineMinutes), batchSize: DIRECT_DEFAULTS.batchSize },
      1,
    );
  }
  say(`soak: conveyor at ${rate}/s for ${minutes} min, RSS every 5 s`);
  const conveyor = await runConveyor(options("conveyor", rate * 60 * minutes), 1);
  const wallSeconds = conveyor.contention.wallSeconds;
  const warmupMs = Math.min(60_000, (minutes * 60_000) / 10);
  const sidecars: SidecarSoak[] = SIDECARS.map((name) => ({
    process: name,
    ...rssFigures(conveyor.rssTimeline ?? [], name, warmupMs),
    vcpu: round((conveyor.cpu.find((c) => c.process === name)?.cpuSeconds ?? 0) / wallSeconds, 3),
  }));
  const result = {
    when: new Date().toISOString(),
    node: process.version,
    rate,
    minutes,
    records: conveyor.records,
    received: conveyor.received,
    lost: Math.max(0, conveyor.records - conveyor.received),
    latencyMs: { conveyor: conveyor.latencyMs, direct: direct?.latencyMs },
    p99AddedMs: direct ? round(conveyor.latencyMs.p99 - direct.latencyMs.p99, 2) : undefined,
    sidecars,
    otherWorkShare: conveyor.contention.otherShare,
    rssTimeline: conveyor.rssTimeline,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(result, null, 2));
  for (const s of sidecars) {
    say(
      `soak: ${s.process}: RSS ${s.warmRssMiB} MiB after warm-up, ${s.endRssMiB} at the end (${s.growthAfterWarmupPercent}%), ` +
        `max ${s.maxRssMiB}, median ${s.medianRssMiB}; ${s.vcpu} vCPU`,
    );
  }
  say(
    `soak: ${result.received}/${result.records} records at the sink (lost ${result.lost}); p99 conveyor ${conveyor.latencyMs.p99} ms` +
      (direct ? ` vs direct ${direct.latencyMs.p99} ms (+${result.p99AddedMs})` : "") +
      `; other work on the machine ${Math.round(result.otherWorkShare * 100)}%; JSON in ${opts.out}`,
  );
  fs.rmSync(workDir, { recursive: true, force: true });
}
