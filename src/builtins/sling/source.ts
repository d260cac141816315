/**
 * `builtin: sling` as a pipeline Source (SourceReader, src/stages/contract.ts): one Sling stream (a
 * table or a query) read incrementally by an update key. Pull with credits, cursor = update-key value:
 *
 *   load acked cursor ─▶ sling run --src-conn C --src-stream "select * from (S) where K > cursor order by K"
 *                          --tgt-object file://<tmp>/read-N.jsonl --limit maxRowsPerRun   (own process group)
 *        exit 0 ─▶ read the file line by line ─▶ Record ─▶ buffer; stop reading while a full batch waits
 *                                                           for credits (backpressure)
 *   onBatch({records, cursor = last update-key value of the batch})  only within granted credits
 *   grant(credits, ackCursor) ─▶ more credit; the acked cursor is saved durably (source-state.ts)
 *   file read to its end ─▶ next run at once if it was full (maxRowsPerRun rows), else after pollIntervalMs
 *
 * Sling's `--stdout` mixes its logs into the data and always writes CSV, hence the temp JSON-lines file.
 *
 * Ties: rows with one update-key value are sent before the cursor moves past that value. A row is
 * complete once a row with another value follows it (or the run ended below its limit): only complete
 * rows are sent; a batch that splits the rows of one value keeps the previous cursor. The rows of the
 * last value of a full run are dropped unsent and read again by the next run (whose limit doubles when
 * one value filled the whole run). So an acked cursor never skips a row.
 *
 * Within one reader each row is sent once. A new reader (after close(), a crash, a reassignment) reads
 * after the last *acked* cursor, so what was sent but not acked comes again: at least once, no gaps.
 * A failed Sling run (bad connection, bad SQL, timeout) ends the reader with SLING_SOURCE_FAILED
 * through onEnd; the source runner opens a new one with backoff.
 */
import { CreditedSourceReader } from "../../stages/credited-reader";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { ConveyorError } from "../../errors";
import type { Logger } from "../../telemetry/log";
import { parseDuration } from "./duration";
import { checkSlingSourceConfig, SLING_SOURCE_DEFAULTS, type SlingSourceConfig } from "./source-config";
import {
  batchCursor,
  redactConnection,
  RowError,
  rowToSourceRow,
  sourceArgs,
  sourceQuery,
  type SourceRow,
} from "./source-rows";
import { SlingSourceStateStore, slingSourceStateFile } from "./source-state";
import { runSling, slingChildEnv } from "./sling-process";

export interface SlingSourceOptions {
  /** Directory for the acked cursor (config.stateDir wins). */
  stateDir: string;
  log: Logger;
  /** Sling's environment, where connection names are defined (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Time between SIGTERM and SIGKILL when a Sling run is killed (default 5000 ms). */
  killGraceMs?: number;
  /** Where each reader makes its temp directory for Sling's files (default os.tmpdir()). */
  tmpDir?: string;
}

export function openSlingSource(config: SlingSourceConfig, opts: SlingSourceOptions): SlingSource {
  return new SlingSource(config, opts);
}

export class SlingSource extends CreditedSourceReader {
  readonly stateFile: string;
  private readonly config: SlingSourceConfig;
  private readonly store: SlingSourceStateStore;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxRowsPerRun: number;
  private readonly timeoutMs: number;
  private readonly bin: string;
  private readonly env: NodeJS.ProcessEnv;
  protected readonly log: Logger;
  protected readonly label = "sling source";
  private readonly closing = new AbortController();
  /** Rows read and not sent yet, in update-key order. */
  private buffer: SourceRow[] = [];
  /** Index in buffer of the first row of the last update-key value read (rows before it are complete). */
  private groupStart = 0;
  /** The current run was read to its end below its limit: every buffered row is complete. */
  private allComplete = false;
  /** The cursor of the last batch sent ("" until a value was complete). */
  private lastCursor = "";

  constructor(config: SlingSourceConfig, opts: SlingSourceOptions) {
    super();
    this.config = checkSlingSourceConfig(config);
    this.batchSize = this.config.batchSize ?? SLING_SOURCE_DEFAULTS.batchSize;
    this.pollIntervalMs = this.config.pollIntervalMs ?? SLING_SOURCE_DEFAULTS.pollIntervalMs;
    this.maxRowsPerRun = this.config.maxRowsPerRun ?? SLING_SOURCE_DEFAULTS.maxRowsPerRun;
    this.timeoutMs = parseDuration(this.config.timeout ?? SLING_SOURCE_DEFAULTS.timeout);
    this.env = opts.env ?? process.env;
    this.bin = this.config.slingBin ?? (this.env.SLING_BIN || "sling");
    this.stateFile = slingSourceStateFile(this.config.stateDir ?? opts.stateDir, this.config);
    this.store = new SlingSourceStateStore(this.stateFile);
    this.log = opts.log.child({
      source: "sling",
      connection: redactConnection(this.config.connection),
      stream: this.config.stream,
    });
    this.running = this.run(opts.tmpDir ?? os.tmpdir(), opts.killGraceMs);
  }

  protected stopReading(): void {
    this.closing.abort();
  }

  protected saveCursor(cursor: string): Promise<void> {
    return this.store.save(this.config.updateKey, cursor);
  }

  private async run(tmpDir: string, killGraceMs: number | undefined): Promise<void> {
    let work: string | undefined;
    try {
      await fs.promises.mkdir(path.dirname(this.stateFile), { recursive: true });
      this.savedCursor = await this.store.load();
      this.lastCursor = this.savedCursor ?? "";
      work = await fs.promises.mkdtemp(path.join(tmpDir, "conveyor-sling-source-"));
      this.log.info(
        { stateFile: this.stateFile, cursor: this.savedCursor ?? null },
        this.savedCursor ? "sling source: resuming after the acked cursor" : "sling source: starting",
      );
      let after = this.savedCursor;
      let limit = this.maxRowsPerRun;
      for (let n = 0; !this.closed; n++) {
        const file = path.join(work, `read-${n}.jsonl`);
        const query = sourceQuery(this.config, after);
        const started = Date.now();
        const outcome = await runSling({
          bin: this.bin,
          args: sourceArgs(this.config.connection, query, file, limit),
          env: slingChildEnv(this.env),
          timeoutMs: this.timeoutMs,
          signal: this.closing.signal,
          killGraceMs,
          cwd: work,
          onLine: (l) => {
            if (l.level === "error" || l.level === "fatal")
              this.log.warn({ sling_level: l.level }, l.message);
          },
        });
        if (this.closed) break;
        if (!outcome.ok) {
          throw new ConveyorError(
            "SLING_SOURCE_FAILED",
            `sling source (stream ${this.config.stream}): ${outcome.error ?? "sling failed"}`,
            { stream: this.config.stream, timedOut: outcome.timedOut, exitCode: outcome.exitCode },
          );
        }
        const read = await this.readRun(file, limit);
        await fs.promises.rm(file, { force: true });
        if (this.closed) break;
        this.log.debug(
          { rows: read.rows, limit, ms: Date.now() - started, after: after ?? null },
          "sling run read",
        );
        if (read.full) {
          if (read.completeCursor === undefined) {
            limit *= 2; // one update-key value filled the whole run: read it whole next time
            this.log.warn({ limit }, "sling source: one update-key value filled a run; doubling the limit");
          } else {
            after = read.completeCursor;
            limit = this.maxRowsPerRun;
          }
        } else if (read.lastCursor !== undefined) {
          after = read.lastCursor;
        }
        // Send what was read before the next run: memory stays at most one run's rows.
        while (!this.closed && this.buffer.length > 0) await this.signal.changed();
        if (!read.full) await this.signal.sleep(this.pollIntervalMs);
      }
    } catch (err) {
      if (!this.closed) this.end(err instanceof RowError ? this.rowError(err) : err);
    } finally {
      if (work !== undefined) await fs.promises.rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Reads one run's file into the buffer, sending batches as credits allow and pausing while a full
   * batch waits for credits. At its end every buffered row is complete, except the rows of the last
   * value of a full run, which are dropped (the next run reads them again).
   */
  private async readRun(
    file: string,
    limit: number,
  ): Promise<{ rows: number; full: boolean; lastCursor?: string; completeCursor?: string }> {
    this.buffer = [];
    this.groupStart = 0;
    this.allComplete = false;
    let rows = 0;
    let lastCursor: string | undefined;
    let completeCursor: string | undefined;
    let input: fs.ReadStream;
    try {
      input = fs.createReadStream(file);
      await new Promise<void>((resolve, reject) => input.once("open", () => resolve()).once("error", reject));
    } catch (err) {
      // Sling writes no file when the query returned no rows.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { rows: 0, full: false };
      throw err;
    }
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line === "") continue;
        const row = rowToSourceRow(line, this.config, Date.now());
        rows++;
        if (lastCursor !== undefined && row.cursor !== lastCursor) {
          completeCursor = lastCursor;
          this.groupStart = this.buffer.length;
        }
        lastCursor = row.cursor;
        this.buffer.push(row);
        this.flush();
        while (!this.closed && this.groupStart >= this.batchSize) await this.signal.changed();
        if (this.closed) break;
      }
    } finally {
      lines.close();
      input.destroy();
    }
    const full = rows >= limit;
    if (full) this.buffer.splice(this.groupStart); // the last value may go on past the limit
    this.allComplete = true;
    this.flush();
    return { rows, full, lastCursor, completeCursor };
  }

  /** Sends batches of complete rows while there are credits: full ones, or what is left at a run's end. */
  protected flush(): void {
    const handler = this.batchHandler;
    if (handler === undefined || this.closed) return;
    let sent = false;
    while (this.credits > 0) {
      const complete = this.allComplete ? this.buffer.length : this.groupStart;
      if (complete === 0) break;
      const cap = Math.min(this.credits, this.batchSize);
      if (complete < cap && !this.allComplete) break;
      const taken = this.buffer.splice(0, Math.min(cap, complete));
      this.groupStart = Math.max(0, this.groupStart - taken.length);
      this.credits -= taken.length;
      this.lastCursor = batchCursor(
        taken.map((t) => t.cursor),
        this.buffer[0]?.cursor,
        this.lastCursor,
      );
      sent = true;
      handler({ records: taken.map((t) => t.record), cursor: this.lastCursor });
    }
    if (sent) this.signal.notify();
  }

  private rowError(err: RowError): ConveyorError {
    return new ConveyorError(
      "CONFIG_INVALID",
      `sling source (stream ${this.config.stream}): ${err.message}`,
      { stream: this.config.stream },
      { cause: err },
    );
  }
}
