/**
 * Filesystem destination: `<root>/<topic or override>/<partition>/{from:020}-{to:020}.ndjson`.
 * A segment is written to a temp name in the same directory, fsynced, linked to
 * its final name (link(2) fails with EEXIST instead of replacing: a rename that
 * never overwrites), the temp name removed, and the directory fsynced.
 */
import * as crypto from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { Segment } from "./chain";
import type { SegmentStore } from "./destination-segments";
import { fsyncDir } from "../../durable-file";

const TEMP_PREFIX = ".conveyor-tmp-";

export function partitionDir(root: string, destinationName: string, partition: number): string {
  return path.join(root, destinationName, String(partition));
}

export class FilesystemSegmentStore implements SegmentStore {
  readonly location: string;

  constructor(root: string, destinationName: string, partition: number) {
    this.location = partitionDir(root, destinationName, partition);
  }

  async cleanup(): Promise<void> {
    await this.ensureDir();
    for (const name of await fsp.readdir(this.location)) {
      if (name.startsWith(TEMP_PREFIX)) await fsp.rm(path.join(this.location, name), { force: true });
    }
  }

  async list(after?: string): Promise<string[]> {
    try {
      return (await fsp.readdir(this.location)).filter(
        (n) => !n.startsWith(TEMP_PREFIX) && (after === undefined || n > after),
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  async write(segment: Segment, body: readonly Buffer[]): Promise<string> {
    await this.ensureDir();
    const final = path.join(this.location, segment.name);
    const temp = path.join(
      this.location,
      `${TEMP_PREFIX}${crypto.randomBytes(6).toString("hex")}-${segment.name}`,
    );
    const fd = await fsp.open(temp, "wx");
    try {
      await writeAll(fd, body);
      await fd.sync();
    } finally {
      await fd.close();
    }
    try {
      await fsp.link(temp, final); // EEXIST when the name is taken: never overwrites
    } finally {
      await fsp.rm(temp, { force: true });
    }
    await fsyncDir(this.location);
    return final;
  }

  async close(): Promise<void> {}

  private async ensureDir(): Promise<void> {
    try {
      await fsp.access(this.location);
    } catch {
      await fsp.mkdir(this.location, { recursive: true });
      await fsyncDir(path.dirname(this.location));
    }
  }
}

/**
 * One writev for the whole segment. (FileHandle.writeFile writes 512 KiB per
 * thread-pool round trip, each waiting for a turn of a busy event loop: 15-75 ms
 * for an 8 MiB segment instead of a few.)
 */
async function writeAll(fd: fsp.FileHandle, chunks: readonly Buffer[]): Promise<void> {
  let pending = chunks.filter((c) => c.length > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await fd.writev(pending);
    const rest: Buffer[] = [];
    for (const c of pending) {
      if (bytesWritten >= c.length) bytesWritten -= c.length;
      else {
        rest.push(c.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}
