/**
 * Many batches in flight on one long-lived bidi stream, each answered by a
 * response with the same batch id. Used for Transform.Process, Sink.Write and
 * the peer DataPlane.Forward hop.
 *
 *   send(batch) ──► [window: credits] ──► stream.write ──► … ──► response(batch_id) ──► resolve
 *
 * The window bounds memory: at most `credits` batches are on the wire; more
 * wait in order. Forward receivers grant credits themselves (a response with
 * batch id 0); for user stages the window is fixed. When the stream breaks,
 * every pending batch fails with PEER_UNAVAILABLE (retryable) and the next
 * send opens a new stream.
 *
 * Deadlines: one timer per stream, armed for the earliest deadline of the
 * batches on the wire, instead of a timer per batch; when it fires, every
 * batch past its deadline fails with TIMEOUT.
 */
import type * as grpc from "@grpc/grpc-js";
import { ConveyorError, fromGrpcError } from "../src/errors";

export interface BatchStreamOptions<Req, Res> {
  /** Human name for errors, e.g. "transform enrich at 127.0.0.1:50052". */
  name: string;
  open(): grpc.ClientDuplexStream<Req, Res>;
  batchIdOf(res: Res): number;
  /** Deadline for one batch; a late answer is dropped. */
  timeoutMs: number;
  /** Fixed window, or "granted" to wait for credit messages (batch id 0) from the server. */
  window: number | "granted";
  creditsOf?(res: Res): number;
  /** Called when the stream breaks (e.g. to trigger a rescan or evict a channel). */
  onBroken?(err: ConveyorError): void;
}

interface Pending<Res> {
  resolve(res: Res): void;
  reject(err: Error): void;
  /** Date.now() after which the batch fails with TIMEOUT. */
  deadline: number;
  timeoutMs: number;
}

interface Waiting {
  start(): void;
  reject(err: Error): void;
}

export class BatchStream<Req, Res> {
  private call: grpc.ClientDuplexStream<Req, Res> | undefined;
  private readonly pending = new Map<number, Pending<Res>>();
  private readonly waiting: Waiting[] = [];
  private credits = 0;
  private nextBatchId = 1;
  private closed = false;
  /** The deadline sweep: armed for `sweepAt`, the earliest deadline when it was armed. */
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepAt = Number.POSITIVE_INFINITY;

  constructor(private readonly opts: BatchStreamOptions<Req, Res>) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one batch; resolves with its response. `build` receives the batch id. */
  send(build: (batchId: number) => Req, timeoutMs = this.opts.timeoutMs): Promise<Res> {
    if (this.closed)
      return Promise.reject(new ConveyorError("SHUTTING_DOWN", `${this.opts.name}: stream closed`));
    this.ensureOpen();
    return new Promise<Res>((resolve, reject) => {
      const start = (): void => {
        const batchId = this.nextBatchId++;
        const deadline = Date.now() + timeoutMs;
        this.pending.set(batchId, { resolve, reject, deadline, timeoutMs });
        this.armSweep(deadline);
        this.credits--;
        this.call!.write(build(batchId));
      };
      this.waiting.push({ start, reject });
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    this.disarmSweep();
    this.fail(new ConveyorError("SHUTTING_DOWN", `${this.opts.name}: stream closed`));
    this.call?.end();
    this.call = undefined;
  }

  private ensureOpen(): void {
    if (this.call) return;
    const call = this.opts.open();
    this.call = call;
    this.credits = this.opts.window === "granted" ? 0 : this.opts.window;
    call.on("data", (res: Res) => this.onResponse(res));
    call.on("error", (err: grpc.ServiceError) => this.onBroken(call, fromGrpcError(err)));
    call.on("end", () =>
      this.onBroken(
        call,
        new ConveyorError("PEER_UNAVAILABLE", `${this.opts.name}: stream ended by the server`),
      ),
    );
  }

  private onResponse(res: Res): void {
    const batchId = this.opts.batchIdOf(res);
    if (this.opts.window === "granted") this.credits += this.opts.creditsOf?.(res) ?? 0;
    else if (batchId !== 0) this.credits++;
    if (batchId !== 0) {
      const p = this.pending.get(batchId);
      // Unknown id: a batch we already timed out. Its result is dropped; the caller retried or failed it.
      if (p) {
        this.pending.delete(batchId);
        if (this.pending.size === 0) this.disarmSweep();
        p.resolve(res);
      }
    }
    this.pump();
  }

  private armSweep(deadline: number): void {
    if (this.sweepTimer !== undefined && deadline >= this.sweepAt) return;
    clearTimeout(this.sweepTimer);
    this.sweepAt = deadline;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(0, deadline - Date.now()));
  }

  private disarmSweep(): void {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sweepAt = Number.POSITIVE_INFINITY;
  }

  /** Fails every batch past its deadline (a late answer is then dropped); re-arms for the next one. */
  private sweep(): void {
    this.sweepTimer = undefined;
    this.sweepAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    const expired: Array<[number, Pending<Res>]> = [];
    for (const [batchId, p] of this.pending) {
      if (p.deadline <= now) expired.push([batchId, p]);
      else if (p.deadline < next) next = p.deadline;
    }
    for (const [batchId] of expired) this.pending.delete(batchId);
    // A fixed window frees the slots; a granted window waits for the server's own credits.
    if (this.opts.window !== "granted") this.credits += expired.length;
    if (next !== Number.POSITIVE_INFINITY) this.armSweep(next);
    if (expired.length > 0) this.pump();
    for (const [batchId, p] of expired) {
      p.reject(
        new ConveyorError(
          "TIMEOUT",
          `${this.opts.name}: batch ${batchId} not answered within ${p.timeoutMs} ms`,
        ),
      );
    }
  }

  private pump(): void {
    while (this.credits > 0 && this.waiting.length > 0 && this.call) this.waiting.shift()!.start();
  }

  private onBroken(call: grpc.ClientDuplexStream<Req, Res>, err: ConveyorError): void {
    if (this.call !== call) return;
    this.call = undefined;
    const broken =
      err.code === "PEER_UNAVAILABLE" || err.code === "TIMEOUT"
        ? err
        : new ConveyorError(err.code, `${this.opts.name}: ${err.message}`, err.details, { cause: err });
    // Waiting batches fail too: callers retry with backoff, so a dead server is not hammered.
    this.fail(broken);
    if (!this.closed) this.opts.onBroken?.(broken);
  }

  private fail(err: Error): void {
    this.disarmSweep();
    for (const [, p] of this.pending) p.reject(err);
    this.pending.clear();
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}
