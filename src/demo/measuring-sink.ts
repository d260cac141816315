/**
 * A measuring Sink for the benchmark (bench/): it counts records and their
 * end-to-end latency (now − record.eventTimeMs, which the generator stamps
 * when it reads) and writes a small stats JSON file every intervalMs and when
 * it stops. It writes no records anywhere (pure measurement), so the same sink
 * can be used behind Conveyor and behind a hand-wired grpc-js driver.
 *
 * Memory is bounded: latencies go into a histogram with 1 ms buckets (the
 * resolution of eventTimeMs); values beyond maxLatencyMs share one overflow bucket
 * (reported as the maximum seen).
 * The first `warmupRecords` records are counted but kept out of the latency
 * figures.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { serveSink, type StageOptions, type StageServer } from "../sdk";
import type { Record } from "../stages/contract";

export interface MeasuringSinkOptions {
  /** Where the stats JSON goes (written atomically: temp file + rename). */
  statsFile: string;
  /** Records at the start that count for throughput but not for latency (default 0). */
  warmupRecords?: number;
  /** How often the stats file is rewritten (default 250 ms). */
  intervalMs?: number;
  /** Histogram range in ms (default 120,000); larger latencies share one overflow bucket. */
  maxLatencyMs?: number;
}

export interface LatencySummary {
  /** Records in the histogram (after warm-up). */
  samples: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface SinkStats {
  pid: number;
  /** Records received (duplicates from retries included). */
  count: number;
  /** Wall-clock ms when the first and the last batch arrived (0 = none yet). */
  firstAtMs: number;
  lastAtMs: number;
  warmupRecords: number;
  /** Wall-clock ms when the warm-up ended (0 = not yet). */
  warmupEndAtMs: number;
  /** Latency in ms of the records after warm-up. */
  latencyMs: LatencySummary;
  writtenAtMs: number;
}

/** Integer-millisecond latency histogram with bounded memory. */
export class LatencyHistogram {
  private readonly buckets: Uint32Array;
  private n = 0;
  private sum = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = 0;

  constructor(readonly maxMs: number) {
    // 0..maxMs, plus one overflow bucket for anything larger.
    this.buckets = new Uint32Array(maxMs + 2);
  }

  get samples(): number {
    return this.n;
  }

  record(ms: number): void {
    const v = ms < 0 ? 0 : Math.round(ms);
    this.buckets[v > this.maxMs ? this.maxMs + 1 : v]!++;
    this.n++;
    this.sum += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  /** The smallest value v such that at least q of the samples are ≤ v (0 when empty). */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let v = 0; v < this.buckets.length; v++) {
      seen += this.buckets[v]!;
      if (seen >= rank) return v > this.maxMs ? this.hi : v;
    }
    return this.hi;
  }

  summary(): LatencySummary {
    return {
      samples: this.n,
      min: this.n ? this.lo : 0,
      mean: this.n ? Math.round((this.sum / this.n) * 100) / 100 : 0,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.hi,
    };
  }
}

/** The measuring state and handler, separate from the server so it can be tested alone. */
export class SinkMeter {
  private readonly histogram: LatencyHistogram;
  private count = 0;
  private firstAtMs = 0;
  private lastAtMs = 0;
  private warmupEndAtMs = 0;
  private readonly warmupRecords: number;

  constructor(private readonly o: MeasuringSinkOptions) {
    this.warmupRecords = o.warmupRecords ?? 0;
    this.histogram = new LatencyHistogram(o.maxLatencyMs ?? 120_000);
  }

  readonly handle = (records: Record[]): void => {
    const now = Date.now();
    if (this.count === 0) this.firstAtMs = now;
    for (const r of records) {
      this.count++;
      if (this.count > this.warmupRecords) this.histogram.record(now - Number(r.eventTimeMs));
    }
    if (this.warmupEndAtMs === 0 && this.count >= this.warmupRecords && this.count > 0)
      this.warmupEndAtMs = now;
    this.lastAtMs = now;
  };

  stats(): SinkStats {
    return {
      pid: process.pid,
      count: this.count,
      firstAtMs: this.firstAtMs,
      lastAtMs: this.lastAtMs,
      warmupRecords: this.warmupRecords,
      warmupEndAtMs: this.warmupEndAtMs,
      latencyMs: this.histogram.summary(),
      writtenAtMs: Date.now(),
    };
  }

  /** Writes the stats file atomically (a reader never sees half a file). */
  flush(): void {
    const tmp = `${this.o.statsFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.stats()));
    fs.renameSync(tmp, this.o.statsFile);
  }
}

/** Serves the measuring sink; stop() writes the stats one last time. */
export async function serveMeasuringSink(
  port: number,
  o: MeasuringSinkOptions,
  stage: StageOptions,
): Promise<StageServer> {
  fs.mkdirSync(path.dirname(path.resolve(o.statsFile)), { recursive: true });
  const meter = new SinkMeter(o);
  meter.flush();
  const server = await serveSink(port, meter.handle, stage);
  const timer = setInterval(() => meter.flush(), o.intervalMs ?? 250);
  timer.unref();
  return {
    address: server.address,
    port: server.port,
    stop: async (graceMs) => {
      clearInterval(timer);
      try {
        await server.stop(graceMs);
      } finally {
        meter.flush();
      }
    },
  };
}
