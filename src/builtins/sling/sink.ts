/**
 * The `sling` built-in sink: each batch of records is one `sling run` with the records' JSON values on
 * stdin as JSON lines (nested objects flattened to columns), written to any Sling target.
 *
 *   write(records) ──JSON values──▶ stdin of `sling run --tgt-conn T --tgt-object O -m MODE
 *                                      --src-options {format: jsonlines, flatten: true}`
 *                  ◀── exit 0: every record durable │ failure: every record STAGE_FAILED (retryable)
 *
 * A record whose value is not a JSON object fails alone with INVALID_RECORD (not retryable). Batches
 * are written one at a time: two Sling loads into one table at once would race on its temp table.
 */
import type { Record, SinkStage, WriteResult } from "../../stages/contract";
import { createLogger, type Logger } from "../../telemetry/log";
import { parseDuration } from "./duration";
import type { SlingSinkConfig } from "./sink-config";
import { runSling, slingChildEnv } from "./sling-process";

export const DEFAULT_SINK_TIMEOUT = "5m";

/** The arguments of one batch's Sling run. */
export function sinkArgs(config: SlingSinkConfig): string[] {
  const mode = config.mode ?? (config.primaryKey ? "incremental" : "snapshot");
  return [
    "run",
    "--tgt-conn",
    config.target,
    "--tgt-object",
    config.object,
    "--src-options",
    JSON.stringify({ format: "jsonlines", flatten: true }),
    "-m",
    mode,
    ...(config.primaryKey ? ["--primary-key", config.primaryKey.join(",")] : []),
  ];
}

/** JSON lines for the records whose value is a JSON object; the others get INVALID_RECORD. */
export function encodeBatch(records: Record[]): {
  lines: string;
  rows: number;
  invalid: Map<string, string>;
} {
  const out: string[] = [];
  const invalid = new Map<string, string>();
  for (const r of records) {
    try {
      const value = JSON.parse(r.value.toString("utf8")) as unknown;
      if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
      out.push(JSON.stringify(value));
    } catch (err) {
      invalid.set(r.id, `record value must be a JSON object for the sling sink: ${(err as Error).message}`);
    }
  }
  return { lines: out.length > 0 ? `${out.join("\n")}\n` : "", rows: out.length, invalid };
}

export class SlingSink implements SinkStage {
  private readonly args: string[];
  private readonly timeoutMs: number;
  private readonly bin: string;
  private readonly closing = new AbortController();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    config: SlingSinkConfig,
    private readonly pipeline: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly log: Logger = createLogger("sling-sink", { pipeline }),
  ) {
    this.args = sinkArgs(config);
    this.timeoutMs = parseDuration(config.timeout ?? DEFAULT_SINK_TIMEOUT);
    this.bin = config.slingBin ?? (env.SLING_BIN || "sling");
  }

  write(records: Record[]): Promise<WriteResult[]> {
    const next = this.queue.then(() => this.writeNow(records));
    this.queue = next.catch(() => undefined); // a failed batch must not block the next one
    return next;
  }

  private async writeNow(records: Record[]): Promise<WriteResult[]> {
    const { lines, rows, invalid } = encodeBatch(records);
    let failure: string | undefined;
    if (rows > 0) {
      const outcome = await runSling({
        bin: this.bin,
        args: this.args,
        env: slingChildEnv(this.env),
        timeoutMs: this.timeoutMs,
        signal: this.closing.signal,
        stdin: lines,
        onLine: (l) => {
          if (l.level === "error" || l.level === "fatal") this.log.warn({ sling_level: l.level }, l.message);
        },
      });
      if (!outcome.ok) failure = `sling sink (pipeline ${this.pipeline}): ${outcome.error ?? "failed"}`;
      else this.log.debug({ rows: outcome.rows, records: rows }, "batch written through sling");
    }
    return records.map((r) => {
      const bad = invalid.get(r.id);
      if (bad !== undefined)
        return { id: r.id, error: { code: "INVALID_RECORD", message: bad, retryable: false } };
      if (failure !== undefined)
        return { id: r.id, error: { code: "STAGE_FAILED", message: failure, retryable: true } };
      return { id: r.id, error: null };
    });
  }

  close(): void {
    this.closing.abort(); // kills a Sling run in progress; its records are reported failed (retryable)
  }
}
