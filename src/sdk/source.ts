/**
 * serveSource: a user Source is a `read(after, max)` function over an opaque
 * cursor (plus optional ack). This file turns it into the conveyor.v1.Source
 * service (Describe + Read bidi stream) and owns the pull protocol, so a
 * source never has to think about credits or reconnects:
 *
 *   sidecar                                  SDK (one ReadSession per stream)
 *   ReadRequest{pipeline, partitions, credits}  ──▶ handshake: position = last acked cursor
 *                                                    for (pipeline, partitions), else initialCursor()
 *                                              ◀──  ReadResponse{records, cursor}  (Σ records ≤ Σ credits)
 *   ReadRequest{credits, ack_cursor}            ──▶ more credit; ack() and remember the cursor
 *
 * The last acked cursor lives in this server's memory, keyed by (pipeline,
 * partitions): a reconnect resumes right after it and re-sends whatever was
 * sent but not acked (at-least-once).
 */
import type * as grpc from "@grpc/grpc-js";
import { ConveyorError } from "../errors";
import type { ReadRequest__Output } from "../generated/conveyor/v1/ReadRequest";
import type { ReadResponse } from "../generated/conveyor/v1/ReadResponse";
import type { SourceHandlers } from "../generated/conveyor/v1/Source";
import { SERVICE, v1 } from "../proto";
import { WIRE_CODECS, withCodecs } from "./wire";
import type { Record } from "../stages/contract";
import { createLogger, type Logger } from "../telemetry/log";
import {
  describeHandler,
  failStream,
  resolveStageOptions,
  stageInfo,
  startStageServer,
  StreamTracker,
  type StageOptions,
  type StageServer,
} from "./describe";
import { StageError } from "./stage-error";

/** Which pipeline and partitions a stream reads (from the handshake). */
export interface SourceContext {
  pipeline: string;
  /** Empty = the whole (unpartitioned) source. */
  partitions: number[];
  /**
   * Generation of the reading instance (the routing table's
   * StageInstance.generation): higher for a newer placement; 0 when unknown.
   */
  generation: number;
}

export interface SourceReadRequest extends SourceContext {
  /** Cursor of the last record already sent ("" = from the initial cursor). */
  after: string;
  /** Return at most this many records. */
  max: number;
}

export interface SourceReadResult {
  records: Record[];
  /** Position after the last returned record; passed back as `after` next time and acked later. */
  cursor: string;
  /**
   * Optional: records between the last returned one and the newest the source has (0 = caught up), sent
   * as ReadResponse.lag; the sidecar exports it as conveyor_source_lag_records.
   */
  lag?: number;
}

export interface SourceHandler {
  /** Partitions this source can be read from (Describe().partitions); empty/absent = unpartitioned. */
  partitions?: number[];
  /** Next records after `after`; an empty result means "nothing yet" (the SDK polls again). */
  read(request: SourceReadRequest): Promise<SourceReadResult>;
  /** Everything up to and including `cursor` is durably delivered downstream. */
  ack?(cursor: string, ctx: SourceContext): Promise<void> | void;
  /** Where a (pipeline, partitions) reader starts when nothing was acked yet (default ""). */
  initialCursor?(ctx: SourceContext): string | Promise<string>;
  /** A Read stream for ctx starts (after its handshake, before its first read). */
  open?(ctx: SourceContext): Promise<void> | void;
  /** That Read stream is over, for any reason; its acks received so far were applied first. */
  close?(ctx: SourceContext): Promise<void> | void;
}

export interface SourceOptions extends StageOptions {
  /** Upper bound of `max` passed to read() (default 1000). */
  maxRecordsPerRead?: number;
  /** Wait before polling again after an empty read (default 20 ms). */
  idlePollMs?: number;
}

export const DEFAULT_MAX_RECORDS_PER_READ = 1000;
export const DEFAULT_IDLE_POLL_MS = 20;

/** Read responses use the hand-written codec (wire.ts); requests are small and keep proto-loader's. */
const SOURCE_SERVICE = withCodecs(v1.Source.service, { Read: [undefined, WIRE_CODECS.ReadResponse] });

export async function serveSource(
  port: number,
  source: SourceHandler,
  options: SourceOptions,
): Promise<StageServer> {
  const opts = resolveStageOptions(port, options);
  const maxRecordsPerRead = options.maxRecordsPerRead ?? DEFAULT_MAX_RECORDS_PER_READ;
  const idlePollMs = options.idlePollMs ?? DEFAULT_IDLE_POLL_MS;
  if (!Number.isInteger(maxRecordsPerRead) || maxRecordsPerRead < 1) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `stage ${opts.name}: maxRecordsPerRead must be a positive integer`,
      {
        field: "maxRecordsPerRead",
        actual: maxRecordsPerRead,
      },
    );
  }
  const log = createLogger("sdk", { stage: opts.name, kind: "source" });
  const tracker = new StreamTracker();
  const lastAcked = new Map<string, string>();
  const partitions = [...(source.partitions ?? [])];

  const implementation: SourceHandlers = {
    Describe: describeHandler(stageInfo("source", opts, partitions)),
    Read: (call) =>
      new ReadSession(call, source, {
        declaredPartitions: partitions,
        lastAcked,
        maxRecordsPerRead,
        idlePollMs,
        tracker,
        log,
      }).start(),
  };
  return startStageServer(
    port,
    opts,
    { name: SERVICE.source, definition: SOURCE_SERVICE, implementation },
    tracker,
  );
}

interface SessionDeps {
  declaredPartitions: number[];
  lastAcked: Map<string, string>;
  maxRecordsPerRead: number;
  idlePollMs: number;
  tracker: StreamTracker;
  log: Logger;
}

/** One Read stream: handshake, then a read loop bounded by credits, and acks in order. */
class ReadSession {
  private ctx: SourceContext | undefined;
  private credits = 0;
  private done = false;
  /** Wakes the read loop (new credits, or the stream ended). */
  private wake: (() => void) | undefined;
  /** Acks are applied one after another, in the order they were received. */
  private acks: Promise<void> = Promise.resolve();
  private untrack: () => void = () => undefined;
  /** Settles once source.open() did (only after the handshake). */
  private opened: Promise<void> | undefined;

  constructor(
    private readonly call: grpc.ServerDuplexStream<ReadRequest__Output, ReadResponse>,
    private readonly source: SourceHandler,
    private readonly deps: SessionDeps,
  ) {}

  start(): void {
    this.untrack = this.deps.tracker.add(() =>
      this.finish(new ConveyorError("SHUTTING_DOWN", "source stage server is stopping")),
    );
    this.call.on("data", (request: ReadRequest__Output) => this.onRequest(request));
    // The sidecar half-closed: apply the acks it sent, then end cleanly.
    this.call.on("end", () => void this.acks.then(() => this.finish()));
    this.call.on("cancelled", () => this.stop());
  }

  private onRequest(request: ReadRequest__Output): void {
    if (this.done) return;
    if (this.ctx === undefined) {
      const ctx: SourceContext = {
        pipeline: request.pipeline,
        partitions: [...request.partitions],
        generation: request.generation,
      };
      const unknown = ctx.partitions.filter((p) => !this.deps.declaredPartitions.includes(p));
      if (this.deps.declaredPartitions.length > 0 && unknown.length > 0) {
        this.finish(
          new ConveyorError(
            "CONFIG_INVALID",
            `handshake asks for partitions this source does not have: ${unknown}`,
            {
              expected: this.deps.declaredPartitions,
              actual: ctx.partitions,
            },
          ),
        );
        return;
      }
      this.ctx = ctx;
      this.credits += request.credits;
      // open() runs before the first read and before any ack; close() after the last ack.
      this.opened = Promise.resolve().then(() => this.source.open?.(ctx));
      this.acks = this.opened;
      if (request.ackCursor) this.enqueueAck(ctx, request.ackCursor);
      const reading = this.opened.then(() => this.readLoop(ctx));
      reading.catch((err: unknown) => {
        this.deps.log.warn({ err, pipeline: ctx.pipeline }, "source read failed; ending stream");
        this.finish(
          new ConveyorError("STAGE_FAILED", `source read failed: ${errorMessage(err)}`, {}, { cause: err }),
        );
      });
      return;
    }
    this.credits += request.credits;
    if (request.ackCursor) this.enqueueAck(this.ctx, request.ackCursor);
    this.wake?.();
  }

  private enqueueAck(ctx: SourceContext, cursor: string): void {
    this.acks = this.acks
      .then(async () => {
        await this.source.ack?.(cursor, ctx);
        // Remembered only once the source accepted it: a reconnect resumes here.
        this.deps.lastAcked.set(positionKey(ctx), cursor);
      })
      .catch((err: unknown) => {
        this.deps.log.warn({ err, cursor }, "source ack failed; ending stream");
        this.finish(
          new ConveyorError("STAGE_FAILED", `source ack failed: ${errorMessage(err)}`, {}, { cause: err }),
        );
      });
  }

  private async readLoop(ctx: SourceContext): Promise<void> {
    let position =
      this.deps.lastAcked.get(positionKey(ctx)) ?? (await this.source.initialCursor?.(ctx)) ?? "";
    while (!this.done) {
      if (this.credits <= 0) {
        await this.sleep();
        continue;
      }
      const max = Math.min(this.credits, this.deps.maxRecordsPerRead);
      const result = await this.source.read({
        after: position,
        max,
        pipeline: ctx.pipeline,
        partitions: ctx.partitions,
        generation: ctx.generation,
      });
      if (this.done) return;
      const records = result?.records;
      if (!Array.isArray(records) || typeof result.cursor !== "string") {
        throw new StageError("read() must resolve to { records: Record[], cursor: string }", {
          retryable: false,
        });
      }
      if (records.length > max) {
        // Sending them would break the credit contract; trimming would make the cursor lie.
        throw new StageError(`read() returned ${records.length} records for max ${max}`, {
          retryable: false,
        });
      }
      if (records.length === 0) {
        await this.sleep(this.deps.idlePollMs);
        continue;
      }
      this.credits -= records.length;
      position = result.cursor;
      const lag = result.lag;
      if (lag !== undefined && (!Number.isSafeInteger(lag) || lag < 0)) {
        throw new StageError(`read() returned lag ${lag}; it must be a whole number >= 0`, {
          retryable: false,
        });
      }
      const response =
        lag === undefined ? { records, cursor: result.cursor } : { records, cursor: result.cursor, lag };
      if (!this.call.write(response)) await this.drained();
    }
  }

  /** Resolves after ms (or, without ms, only when woken: new credits or the end of the stream). */
  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => wake(), ms);
      const wake = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = wake;
    });
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.call.off("drain", wake);
        this.wake = undefined;
        resolve();
      };
      this.call.on("drain", wake);
      this.wake = wake;
    });
  }

  /** The client went away: stop reading; nothing can be sent any more. */
  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.untrack();
    this.wake?.();
    const { ctx, opened } = this;
    if (ctx === undefined || opened === undefined || this.source.close === undefined) return;
    const close = this.source.close.bind(this.source);
    // After the acks already received (an ack that failed ends the stream too); only if open() succeeded.
    void opened
      .then(
        () => this.acks.then(() => close(ctx)),
        () => undefined,
      )
      .catch((err: unknown) => this.deps.log.warn({ err, pipeline: ctx.pipeline }, "source close() failed"));
  }

  /** Ends the stream: cleanly without err, else with err's status. */
  private finish(err?: unknown): void {
    if (this.done) return;
    this.stop();
    if (err === undefined) this.call.end();
    else failStream(this.call, err, this.deps.log);
  }
}

function positionKey(ctx: SourceContext): string {
  return `${ctx.pipeline}\u0000${[...ctx.partitions].sort((a, b) => a - b).join(",")}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// generatorSource: a ready-made deterministic source for demos, tests and benchmarks.

export interface GeneratorOptions {
  /** Stop after this many records (unbounded when absent). */
  count?: number;
  /** Length of the payload string in each value (default 1000). */
  payloadBytes?: number;
  /** Record ids are `${prefix}-${i}` (default "gen"). */
  prefix?: string;
}

const PAYLOAD_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function payloadBase(payloadBytes: number): string {
  return PAYLOAD_ALPHABET.repeat(
    Math.ceil((payloadBytes + PAYLOAD_ALPHABET.length) / PAYLOAD_ALPHABET.length),
  );
}

/** The last payload base as bytes (ASCII, so character offsets are byte offsets). */
let baseBytes: { chars: string; bytes: Buffer } | undefined;

/**
 * Record i of a generator (eventTimeMs is the only non-deterministic field).
 * The value is `JSON.stringify({ seq: i, payload })`, built by copying the
 * payload out of the base's bytes instead of stringifying and encoding 1 KB per
 * record (that was a third of the generator's CPU in the benchmark). The payload
 * is [a-z0-9] only, so no character needs escaping: the bytes are the same.
 */
export function generatorRecord(i: number, opts: GeneratorOptions = {}, base?: string): Record {
  const payloadBytes = opts.payloadBytes ?? 1000;
  const chars = base ?? payloadBase(payloadBytes);
  if (baseBytes?.chars !== chars) baseBytes = { chars, bytes: Buffer.from(chars, "latin1") };
  const offset = i % PAYLOAD_ALPHABET.length;
  const head = `{"seq":${i},"payload":"`;
  const value = Buffer.allocUnsafe(head.length + payloadBytes + 2);
  value.write(head, 0, "latin1");
  baseBytes.bytes.copy(value, head.length, offset, offset + payloadBytes);
  value[head.length + payloadBytes] = 0x22; // "
  value[head.length + payloadBytes + 1] = 0x7d; // }
  return {
    id: `${opts.prefix ?? "gen"}-${i}`,
    key: Buffer.from(`k${i % 64}`),
    value,
    headers: {},
    eventTimeMs: Date.now(),
  };
}

/** Records 0, 1, 2, …; the cursor after record i is String(i + 1). */
export function generatorSource(opts: GeneratorOptions = {}): SourceHandler {
  const base = payloadBase(opts.payloadBytes ?? 1000);
  return {
    read: async ({ after, max }) => {
      // The cursor names the last record sent (the contract in stages.proto): resume after it.
      const start = after === "" ? 0 : Number(after) + 1;
      if (!Number.isSafeInteger(start) || start < 0) {
        throw new StageError(`generator: invalid cursor ${JSON.stringify(after)}`, { retryable: false });
      }
      const end = opts.count === undefined ? start + max : Math.min(start + max, opts.count);
      const records: Record[] = [];
      for (let i = start; i < end; i++) records.push(generatorRecord(i, opts, base));
      return { records, cursor: records.length > 0 ? String(end - 1) : after };
    },
  };
}
