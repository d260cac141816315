/**
 * The file publisher: one file per event in publishDir holding the event's
 * data, named after its identity (publisher.ts: SSE id, else meta.id, else a
 * hash of the data):
 *
 *   id-<id>.json             the SSE id, when it is a safe file name
 *   id-sha256-<hex>.json     the SSE id hashed (e.g. Wikimedia's JSON-array ids)
 *   meta-<meta.id>.json      (or meta-sha256-<hex>.json)
 *   data-sha256-<hex>.json   no identity: the data itself
 *
 * Each write goes to a dot-prefixed temp file, is fsynced, then hard-linked to
 * its final name — link(2) never overwrites, so an existing name means the
 * event was already published (a replay after a crash): it is skipped and
 * counted as a duplicate. The directory is fsynced before publish() resolves
 * (one fsync shared by the publishes in flight). The relay keeps up to
 * maxPending publishes in flight and saves ids in order, so an event written
 * ahead of one that failed is simply a duplicate when it is replayed.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import type { Logger } from "../../telemetry/log";
import { relayMetrics } from "./metrics";
import { pleiadesMetrics } from "./pleiades-metrics";
import { eventIdentity, sha256, type PublishOutcome, type Publisher, type RelayEvent } from "./publisher";
import { fsyncDir } from "../../durable-file";

const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const TEMP_PREFIX = ".tmp-";

export function fileNameFor(event: RelayEvent): string {
  const { source, value } = eventIdentity(event);
  if (source === "data") return `data-sha256-${value}.json`;
  return SAFE_NAME.test(value) ? `${source}-${value}.json` : `${source}-sha256-${sha256(value)}.json`;
}

export class FilePublisher implements Publisher {
  readonly kind = "file";
  /** Up to 32 events are written at once (their fsyncs overlap); the relay still saves ids in order. */
  readonly maxPending = 32;
  private seq = 0;
  private dirSync: Promise<void> | undefined;
  private nextDirSync: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  async open(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    // Temp files of a run that crashed before linking them: their events were not published.
    for (const name of await fs.readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }

  async publish(event: RelayEvent): Promise<PublishOutcome> {
    try {
      const outcome = await this.write(event);
      relayMetrics.filePublishEvents.inc({ outcome });
      pleiadesMetrics.filePublishEvents.inc();
      return outcome;
    } catch (err) {
      relayMetrics.filePublishErrors.inc();
      pleiadesMetrics.filePublishErrors.inc({ type: "write" });
      throw err;
    }
  }

  private async write(event: RelayEvent): Promise<PublishOutcome> {
    const name = fileNameFor(event);
    const final = path.join(this.dir, name);
    const tmp = path.join(this.dir, `${TEMP_PREFIX}${process.pid}-${this.seq++}`);
    const handle = await fs.open(tmp, "wx");
    try {
      await handle.writeFile(event.data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    let outcome: PublishOutcome = "written";
    try {
      await fs.link(tmp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      outcome = "duplicate";
    } finally {
      await fs.rm(tmp, { force: true });
    }
    if (outcome === "duplicate") {
      const existing = await fs.readFile(final, "utf8");
      if (existing !== event.data) {
        this.log.warn(
          { file: final },
          "an event with the same identity but other data exists; kept the first",
        );
      }
    }
    await this.syncDir();
    return outcome;
  }

  /**
   * fsyncs the directory, shared by the publishes waiting for it: a caller
   * joins the sync queued to start after the running one (which may have
   * started before its link), so one fsync covers every link made before it.
   */
  private syncDir(): Promise<void> {
    if (this.nextDirSync !== undefined) return this.nextDirSync;
    if (this.dirSync === undefined) {
      this.dirSync = fsyncDir(this.dir).finally(() => (this.dirSync = undefined));
      return this.dirSync;
    }
    this.nextDirSync = this.dirSync
      .catch(() => undefined)
      .then(() => {
        this.nextDirSync = undefined;
        return this.syncDir();
      });
    return this.nextDirSync;
  }

  async close(): Promise<void> {}
}
