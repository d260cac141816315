/**
 * The sample user stages of the demo (and of the e2e tests and the bench):
 * a generator Source, an enrich Transform and an NDJSON file Sink, each
 * written with the SDK exactly as a user would.
 */
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

export type SampleKind = "source" | "transform" | "sink";

export interface SampleStageOptions {
  kind: SampleKind;
  name: string;
  host: string;
  port: number;
  /** source: stop after this many records (default: endless). */
  count?: number;
  /** source: payload size in bytes (default 1000). */
  payloadBytes?: number;
  /** source: at most this many records per second (default: as fast as credits allow). */
  rate?: number;
  /** sink: directory for <name>.ndjson. */
  dir?: string;
  /** sink: fsync each write group (default true). */
  fsync?: boolean;
  /** sink: measure instead of writing (bench): record count and latency stats go to this JSON file. */
  statsFile?: string;
  /** sink with statsFile: records at the start kept out of the latency figures. */
  statsWarmupRecords?: number;
}

export async function serveSampleStage(o: SampleStageOptions): Promise<StageServer> {
  const common = { name: o.name, host: o.host, version: "1.0.0" };
  switch (o.kind) {
    case "source": {
      const source = generatorSource({
        ...(o.count !== undefined ? { count: o.count } : {}),
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
      const writer = new NdjsonWriter(path.join(o.dir ?? ".", `${o.name}.ndjson`), o.fsync ?? true);
      return serveSink(o.port, (records) => writer.append(records), common);
    }
  }
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
      if (allowed <= 0) return { records: [], cursor: req.after };
      const res = await source.read({ ...req, max: Math.min(req.max, allowed) });
      sent += res.records.length;
      return res;
    },
  };
}
