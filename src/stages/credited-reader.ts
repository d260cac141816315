/**
 * What a pull-based built-in source reader (`sse`, `sling`) does the same way
 * whatever it reads: the SourceReader protocol (handlers, credits, acks,
 * close), saving acked cursors durably one at a time (acks that arrive during
 * a save are coalesced into the next), and ending once with an error. A
 * subclass reads its source in `running`, buffers, and sends batches within
 * `credits` from flush().
 */
import { ConveyorError } from "../errors";
import type { Logger } from "../telemetry/log";
import type { SourceBatch, SourceReader } from "./contract";
import { ReaderSignal } from "./reader-signal";

export abstract class CreditedSourceReader implements SourceReader {
  /** Where acked cursors are kept (named in errors). */
  abstract readonly stateFile: string;
  protected abstract readonly log: Logger;
  /** "sse source", "sling source": starts log lines and error messages. */
  protected abstract readonly label: string;
  protected batchHandler: ((batch: SourceBatch) => void) | undefined;
  protected closed = false;
  /** Records this reader may still send. */
  protected credits = 0;
  protected readonly signal = new ReaderSignal();
  /** The newest cursor saved (loaded at start by the subclass). */
  protected savedCursor: string | undefined;
  /** The read loop; whenClosed() waits for it. */
  protected running: Promise<void> = Promise.resolve();
  private endHandler: ((err?: Error) => void) | undefined;
  private ended: { err?: Error } | undefined;
  private pendingAck: string | undefined;
  private saving: Promise<void> | undefined;

  onBatch(handler: (batch: SourceBatch) => void): void {
    this.batchHandler = handler;
    this.flush();
  }

  onEnd(handler: (err?: Error) => void): void {
    this.endHandler = handler;
    if (this.ended !== undefined) handler(this.ended.err);
  }

  /** More credits (records this reader may send); ackCursor: everything up to it is durable downstream. */
  grant(credits: number, ackCursor?: string): void {
    if (this.closed) return;
    if (Number.isFinite(credits) && credits > 0) this.credits += Math.floor(credits);
    if (ackCursor !== undefined && ackCursor !== "") this.ack(ackCursor);
    this.flush();
  }

  /** Stops reading; resolves once the acks already granted are saved (as whenClosed()). */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.stopReading();
      this.signal.interrupt();
    }
    await this.whenClosed();
  }

  /** Resolves when the read loop stopped and every granted ack is saved. */
  async whenClosed(): Promise<void> {
    await this.running;
    while (this.saving !== undefined) await this.saving;
  }

  /** Sends what is due while there are credits. */
  protected abstract flush(): void;

  /** Interrupts reading the source (a connection, a child process) at close(). */
  protected abstract stopReading(): void;

  /** Writes one acked cursor durably. */
  protected abstract saveCursor(cursor: string): Promise<void>;

  /** Ends the reader with an error (once): closes it and tells onEnd. */
  protected end(err: unknown): void {
    if (this.ended !== undefined) return;
    const error = err instanceof Error ? err : new Error(String(err));
    this.log.error({ err: error }, `${this.label}: stopped`);
    this.ended = { err: error };
    void this.close().catch(() => undefined); // the error is reported below; saving failed with it
    this.endHandler?.(error);
  }

  private ack(cursor: string): void {
    this.pendingAck = cursor;
    if (this.saving !== undefined) return;
    this.saving = (async () => {
      while (this.pendingAck !== undefined) {
        const next = this.pendingAck;
        this.pendingAck = undefined;
        if (next === this.savedCursor) continue;
        await this.saveCursor(next);
        this.savedCursor = next;
      }
    })()
      .catch((err: unknown) => {
        this.end(
          new ConveyorError(
            "STAGE_FAILED",
            `${this.label}: saving the acked cursor to ${this.stateFile} failed: ${
              err instanceof Error ? err.message : String(err)
            }`,
            { file: this.stateFile },
            { cause: err },
          ),
        );
      })
      .finally(() => (this.saving = undefined));
  }
}
