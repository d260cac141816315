/**
 * Appends records as NDJSON lines to one file, fsyncing before it confirms.
 * Group commit: batches that arrive while a write+fsync is running are joined
 * into the next write, so the fsync cost is shared instead of serialised.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Record } from "../../stages/contract";

export interface NdjsonLine {
  id: string;
  key: string;
  /** The value as UTF-8 text when it round-trips, else absent (see valueBase64). */
  value?: string;
  valueBase64?: string;
  headers: { [key: string]: string };
  eventTimeMs: number;
}

export function toNdjsonLine(r: Record): string {
  const text = r.value.toString("utf8");
  const exact = Buffer.byteLength(text, "utf8") === r.value.length && !text.includes("\uFFFD");
  const line: NdjsonLine = {
    id: r.id,
    key: r.key.toString("utf8"),
    ...(exact ? { value: text } : { valueBase64: r.value.toString("base64") }),
    headers: r.headers,
    eventTimeMs: Number(r.eventTimeMs),
  };
  return JSON.stringify(line) + "\n";
}

export function valueOf(line: NdjsonLine): Buffer {
  return line.value !== undefined
    ? Buffer.from(line.value, "utf8")
    : Buffer.from(line.valueBase64 ?? "", "base64");
}

interface Waiter {
  text: string;
  resolve(): void;
  reject(err: Error): void;
}

export class NdjsonWriter {
  private handle: Promise<fs.promises.FileHandle> | undefined;
  private queue: Waiter[] = [];
  private writing = false;

  constructor(
    readonly file: string,
    private readonly fsync = true,
  ) {}

  /** Resolves once every record is written (and fsynced when enabled). */
  append(records: Record[]): Promise<void> {
    let text = "";
    for (const r of records) text += toNdjsonLine(r);
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await (await h).close();
  }

  private open(): Promise<fs.promises.FileHandle> {
    this.handle ??= fs.promises
      .mkdir(path.dirname(this.file), { recursive: true })
      .then(() => fs.promises.open(this.file, "a"));
    return this.handle;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        const h = await this.open();
        await h.appendFile(group.map((w) => w.text).join(""));
        if (this.fsync) await h.datasync();
        for (const w of group) w.resolve();
      } catch (err) {
        // The handle may be broken (disk full, file removed): reopen on the next write.
        this.handle = undefined;
        for (const w of group) w.reject(err as Error);
      }
    }
    this.writing = false;
  }
}
