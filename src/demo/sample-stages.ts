/**
 * The sample user stages of the demo (and of the e2e tests and the bench):
 * a generator Source, an enrich Transform and an NDJSON file Sink, each
 * written with the SDK exactly as a user would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  generatorSource,
  serveSink,
  serveSource,
  serveTransform,
  type SourceHandler,
  type StageServer,
} from "../sdk";
import { NdjsonWriter } from "../builtins/file/ndjson-writer";
import { keyedSource } from "./keyed-source";
import { serveMeasuringSink } from "./measuring-sink";
import type { Record } from "../stages/contract";

const ENRICHED_PREFIX = Buffer.from('{"enriched":true,');

/**
 * enrich adds `"enriched":true` to a JSON object value without parsing it
 * (cheap enough to keep the pipeline, not the sample, as the bottleneck).
 */
export function enrichValue(value: Buffer): Buffer {
  if (value[0] === 0x7b /* { */) return Buffer.concat([ENRICHED_PREFIX, value.subarray(1)]);
  return Buffer.concat([Buffer.from('{"enriched":true,"value":'), value, Buffer.from("}")]);
}

export function enrichRecord(r: Record): Record {
  return { ...r, value: enrichValue(r.value), headers: { ...r.headers, enriched: "true" } };
}

export type SampleKind = "source" | "keyed-source" | "transform" | "sink";

export interface SampleStageOptions {
  kind: SampleKind;
  name: string;
  host: string;
  port: number;
  /** source: stop after this many records (default: endless); keyed-source: records in all partitions. */
  count?: number;
  /** keyed-source: number of partitions (default 4). */
  partitions?: number;
  /** keyed-source: number of keys, a multiple of partitions (default 400). */
  keys?: number;
  /** source: payload size in bytes (default 1000). */
  payloadBytes?: number;
  /** source: at most this many records per second (default: as fast as credits allow). */
  rate?: number;
  /** source: record ids are `${idPrefix}-${i}` (default "gen"; tells two generators apart). */
  idPrefix?: string;
  /** sink: directory for <name>.ndjson; keyed-source: the shared directory of cursors and session logs. */
  dir?: string;
  /** sink: fsync each write group (default true). */
  fsync?: boolean;
  /**
   * sink: stamp each record with the header `_received_mono_ns`, the sink process's
   * `process.hrtime.bigint()` when the batch arrived. That is CLOCK_MONOTONIC (libuv's
   * uv_hrtime), one clock for every process of the machine, so a test can merge the files of
   * several sink processes in arrival order (e2e/scale-out). Default false.
   */
  stampReceived?: boolean;
  /** sink: measure instead of writing (bench): record count and latency stats go to this JSON file. */
  statsFile?: string;
  /** sink with statsFile: records at the start kept out of the latency figures. */
  statsWarmupRecords?: number;
  /**
   * sink: a slow sink for backpressure tests: every batch waits this long
   * before it is written, one batch after another, so the sink takes at most
   * 1000 / delayMs batches per second (default 0: no delay, batches overlap).
   */
  delayMs?: number;
}

export async function serveSampleStage(o: SampleStageOptions): Promise<StageServer> {
  const common = { name: o.name, host: o.host, version: "1.0.0" };
  switch (o.kind) {
    case "source": {
      const source = generatorSource({
        ...(o.count !== undefined ? { count: o.count } : {}),
        ...(o.payloadBytes !== undefined ? { payloadBytes: o.payloadBytes } : {}),
        ...(o.idPrefix !== undefined ? { prefix: o.idPrefix } : {}),
      });
      return serveSource(o.port, o.rate ? rateLimited(source, o.rate) : source, common);
    }
    case "keyed-source": {
      const partitions = o.partitions ?? 4;
      const count = o.count ?? 100_000;
      if (count % partitions !== 0)
        throw new Error(`count ${count} is not a multiple of ${partitions} partitions`);
      const source = keyedSource({
        partitions,
        perPartition: count / partitions,
        keys: o.keys ?? 400,
        stateDir: o.dir ?? ".",
        ...(o.payloadBytes !== undefined ? { payloadBytes: o.payloadBytes } : {}),
      });
      return serveSource(o.port, o.rate ? rateLimited(source, o.rate) : source, common);
    }
    case "transform":
      return serveTransform(o.port, (records) => records.map(enrichRecord), common);
    case "sink": {
      if (o.statsFile) {
        return serveMeasuringSink(
          o.port,
          { statsFile: o.statsFile, warmupRecords: o.statsWarmupRecords ?? 0 },
          common,
        );
      }
      const file = path.join(o.dir ?? ".", `${o.name}.ndjson`);
      dropTornTail(file);
      const writer = new NdjsonWriter(file, o.fsync ?? true);
      const write = (records: Record[]): Promise<void> =>
        writer.append(o.stampReceived ? stampReceived(records) : records);
      return serveSink(o.port, o.delayMs ? delayed(write, o.delayMs) : write, common);
    }
  }
}

/**
 * A sink killed in the middle of a write can leave a partial last line (it was
 * never confirmed, so the record comes again). Cut it off before appending, so
 * the next record starts on a line of its own.
 */
export function dropTornTail(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, "r+");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    // Walk back from the end to the last newline (a line is far shorter than the file, usually).
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - start, start);
      const i = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (i >= 0) {
        end = start + i + 1;
        break;
      }
      end = start;
    }
    if (end < size) {
      fs.ftruncateSync(fd, end);
      fs.fsyncSync(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The header a sink with `stampReceived` adds: nanoseconds of CLOCK_MONOTONIC at arrival. */
export const RECEIVED_MONO_NS_HEADER = "_received_mono_ns";

function stampReceived(records: Record[]): Record[] {
  const now = process.hrtime.bigint().toString();
  return records.map((r) => ({ ...r, headers: { ...r.headers, [RECEIVED_MONO_NS_HEADER]: now } }));
}

/** Writes one batch at a time, each after `delayMs`: a sink slower than the pipeline. */
function delayed(
  write: (records: Record[]) => Promise<void>,
  delayMs: number,
): (records: Record[]) => Promise<void> {
  let previous: Promise<unknown> = Promise.resolve();
  return (records) => {
    const next = previous.then(async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      await write(records);
    });
    // The next batch waits for this one whether it succeeded or not; its caller sees the error.
    previous = next.catch(() => undefined);
    return next;
  };
}

/** Caps a source at `perSecond` records per second (the demo should not fill the disk). */
function rateLimited(source: SourceHandler, perSecond: number): SourceHandler {
  let startedMs = 0;
  let sent = 0;
  return {
    ...source,
    read: async (req) => {
      // The clock starts at the first read, so no backlog of allowance builds up before the pipeline runs.
      startedMs ||= Date.now();
      const allowed = Math.floor(((Date.now() - startedMs) / 1000) * perSecond) - sent;
      // Responses of at least 1/20 s worth of records (or max): not a cursor to ack per handful of records.
      if (allowed < Math.min(req.max, Math.ceil(perSecond / 20))) return { records: [], cursor: req.after };
      const res = await source.read({ ...req, max: Math.min(req.max, allowed) });
      sent += res.records.length;
      return res;
    },
  };
}
