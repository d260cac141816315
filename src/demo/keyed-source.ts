/**
 * A partitioned, keyed sample Source whose partitions can move between pods
 * without loss (the scale-out e2e test runs one in each of two pods):
 *
 *   partition p: records p{p}-0, p{p}-1, …  (deterministic)
 *   key k lives in partition k % partitions only; the value carries the key's own sequence number
 *   cursor = {"<p>": index of the LAST record sent of p, …}  (stages.proto: resume after it)
 *   ack    ─▶ <stateDir>/partition-<p>.cursor (durable, only forward)
 *   read   ─▶ never from before the committed cursor of a partition (shared by every process)
 *   open / close ─▶ <stateDir>/partition-<p>.sessions.ndjson (append-only: wall time, pid, generation)
 *
 * Every process given the same options serves the same partitions (Describe),
 * so the router divides them; the state directory is shared by all of them,
 * so whoever reads a partition next starts after its last acked record.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileDurably } from "../durable-file";
import { StageError, type SourceContext, type SourceHandler } from "../sdk";
import type { Record } from "../stages/contract";

export interface KeyedSourceOptions {
  /** Number of partitions (0 … partitions-1). */
  partitions: number;
  /** Records per partition. */
  perPartition: number;
  /** Keys in all (each partition has keys / partitions of them; a multiple of partitions). */
  keys: number;
  /** Shared directory for committed cursors and session logs. */
  stateDir: string;
  /** Padding in each value, in bytes (default 32). */
  payloadBytes?: number;
}

/** One line of a partition's session log. */
export interface SessionEvent {
  event: "open" | "close";
  partition: number;
  pid: number;
  /** Wall time, ms since the epoch. */
  t: number;
  generation: number;
  /** open: the partition's committed (last acked) index when the session opened. */
  committed?: number;
}

/** The value of record i of partition p, as JSON. */
export interface KeyedValue {
  partition: number;
  index: number;
  key: string;
  /** The key's own sequence number: 0, 1, 2, … in source order. */
  seq: number;
  pad: string;
}

/** Position per partition: the index of the last record sent (-1: none yet). */
type Positions = Map<number, number>;

export function keysPerPartition(o: Pick<KeyedSourceOptions, "keys" | "partitions">): number {
  if (!Number.isInteger(o.partitions) || o.partitions < 1) throw new Error("partitions must be ≥ 1");
  if (o.keys % o.partitions !== 0 || o.keys < o.partitions) {
    throw new Error(`keys (${o.keys}) must be a positive multiple of partitions (${o.partitions})`);
  }
  return o.keys / o.partitions;
}

/** Record `index` of partition `partition` (eventTimeMs is the only non-deterministic field). */
export function keyedRecord(o: KeyedSourceOptions, partition: number, index: number): Record {
  const perKey = keysPerPartition(o);
  const key = `k${partition + o.partitions * (index % perKey)}`;
  const value: KeyedValue = {
    partition,
    index,
    key,
    seq: Math.floor(index / perKey),
    pad: "x".repeat(o.payloadBytes ?? 32),
  };
  return {
    id: `p${partition}-${index}`,
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    headers: {},
    eventTimeMs: Date.now(),
  };
}

export function cursorFile(stateDir: string, partition: number): string {
  return path.join(stateDir, `partition-${partition}.cursor`);
}

export function sessionLogFile(stateDir: string, partition: number): string {
  return path.join(stateDir, `partition-${partition}.sessions.ndjson`);
}

/** The last acked index of a partition (-1 when nothing was acked). */
export function committedIndex(stateDir: string, partition: number): number {
  let text: string;
  try {
    text = fs.readFileSync(cursorFile(stateDir, partition), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return -1;
    throw err;
  }
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < -1) throw new Error(`${cursorFile(stateDir, partition)}: bad cursor`);
  return n;
}

/** Every session event of a partition, in the order written. */
export function readSessionLog(stateDir: string, partition: number): SessionEvent[] {
  const file = sessionLogFile(stateDir, partition);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as SessionEvent);
}

export function encodeCursor(positions: Positions): string {
  return JSON.stringify(Object.fromEntries([...positions].sort(([a], [b]) => a - b)));
}

export function decodeCursor(cursor: string, partitions: readonly number[]): Positions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null) {
    throw new StageError(`keyed source: invalid cursor ${JSON.stringify(cursor)}`, { retryable: false });
  }
  const entries = parsed as { [p: string]: unknown };
  const positions: Positions = new Map();
  for (const p of partitions) {
    const v = entries[String(p)];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < -1) {
      throw new StageError(`keyed source: cursor ${JSON.stringify(cursor)} has no position for ${p}`, {
        retryable: false,
      });
    }
    positions.set(p, v);
  }
  return positions;
}

export function keyedSource(o: KeyedSourceOptions): SourceHandler {
  keysPerPartition(o);
  fs.mkdirSync(o.stateDir, { recursive: true });
  const all = Array.from({ length: o.partitions }, (_, p) => p);
  /** What this process committed last per partition: commits only go forward. */
  const committed = new Map<number, number>();
  /** Commits of one partition one after another. */
  const commits = new Map<number, Promise<void>>();

  const partitionsOf = (ctx: SourceContext): number[] => (ctx.partitions.length > 0 ? ctx.partitions : all);
  const log = (e: SessionEvent): void =>
    fs.appendFileSync(sessionLogFile(o.stateDir, e.partition), `${JSON.stringify(e)}\n`);

  const commit = (partition: number, index: number): Promise<void> => {
    const next = (commits.get(partition) ?? Promise.resolve()).then(async () => {
      const current = Math.max(committed.get(partition) ?? -1, committedIndex(o.stateDir, partition));
      if (index <= current) return;
      await writeFileDurably(cursorFile(o.stateDir, partition), String(index));
      committed.set(partition, index);
    });
    commits.set(partition, next);
    return next;
  };

  return {
    partitions: all,
    // Resume after whatever was acked last, by this process or any other.
    initialCursor: (ctx) =>
      encodeCursor(new Map(partitionsOf(ctx).map((p) => [p, committedIndex(o.stateDir, p)]))),
    open: (ctx) => {
      for (const p of partitionsOf(ctx)) {
        log({
          event: "open",
          partition: p,
          pid: process.pid,
          t: Date.now(),
          generation: ctx.generation,
          committed: committedIndex(o.stateDir, p),
        });
      }
    },
    close: (ctx) => {
      for (const p of partitionsOf(ctx)) {
        log({ event: "close", partition: p, pid: process.pid, t: Date.now(), generation: ctx.generation });
      }
    },
    read: async (req) => {
      const parts = partitionsOf(req);
      const positions = req.after === "" ? new Map<number, number>() : decodeCursor(req.after, parts);
      // Never behind the shared commit: the SDK resumes a reconnect from the cursor it last acked in
      // this process, which is stale when the partition was read elsewhere meanwhile (it moved away
      // and back). What is committed was delivered, so skipping up to it loses nothing.
      for (const p of parts)
        positions.set(p, Math.max(positions.get(p) ?? -1, committedIndex(o.stateDir, p)));
      // Round robin over the partitions, so none starves.
      const records: Record[] = [];
      let progressed = true;
      while (records.length < req.max && progressed) {
        progressed = false;
        for (const p of parts) {
          if (records.length >= req.max) break;
          const next = positions.get(p)! + 1;
          if (next >= o.perPartition) continue;
          records.push(keyedRecord(o, p, next));
          positions.set(p, next);
          progressed = true;
        }
      }
      return { records, cursor: encodeCursor(positions) };
    },
    ack: async (cursor, ctx) => {
      const positions = decodeCursor(cursor, partitionsOf(ctx));
      await Promise.all([...positions].map(([p, index]) => commit(p, index)));
    },
  };
}
