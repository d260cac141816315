/**
 * Pages of dead letters read a line at a time, so that a page costs what it shows and not the size
 * of the files: `conveyor dlq list --offset --limit` and the console's dead-letters page stop
 * reading once they have their page (the console reads on a little to count, see `countBytes`).
 *
 *   file a ── lines ── parse ─┐
 *   file b ── lines ── parse ─┼─ merge (oldest head first) ── filter ── once per id+ts ── skip offset ── page
 *   …                         ┘
 *
 * Each file is read in its own order, which is the order the sink wrote it: the dead letters' time
 * order, unless letters failed by several sidecars crossed on their way to the sink. The files are
 * merged by `_dlq_ts` (then file, then line), so when each file is in time order a page is exactly
 * the slice selectDeadLetters() gives over everything; a line written late with an older `_dlq_ts`
 * shows where it was written instead of further up.
 */
import * as fsp from "node:fs/promises";
import {
  compareDeadLetters,
  deadLetterKey,
  deadLetterMatcher,
  parseDeadLetterLine,
  type DeadLetter,
  type DeadLetterFilter,
  type ParseWarning,
} from "./dead-letters";

/** Bytes per read; a line longer than this is put together from several. */
export const CHUNK_BYTES = 64 * 1024;

export interface PageOptions {
  /**
   * Count matches after the page (for `total`) while fewer than this many bytes were read in all;
   * the first match after the page is always looked for, so `total > offset + letters.length`
   * says whether a next page exists. Absent: stop at the page's last letter.
   */
  countBytes?: number;
  chunkBytes?: number;
}

export interface DeadLetterPage {
  /** filter.offset's match and the following ones, at most filter.limit. */
  letters: DeadLetter[];
  /** Matches seen (each dead letter once), those before the page and after it included. */
  total: number;
  /** The read reached the end of every file: `total` is every match. */
  complete: boolean;
  /** For the lines read. */
  warnings: ParseWarning[];
  bytesRead: number;
}

/** One page of the dead letters `filter` selects (offset and limit included), reading no further than it needs. */
export async function readDeadLetterPage(
  files: readonly string[],
  filter: DeadLetterFilter,
  options: PageOptions = {},
): Promise<DeadLetterPage> {
  const matches = deadLetterMatcher(filter);
  const offset = filter.offset ?? 0;
  const limit = filter.limit ?? Infinity;
  const read = { bytes: 0 };
  const warnings: ParseWarning[] = [];
  const seen = new Set<string>();
  const letters: DeadLetter[] = [];
  let total = 0;
  const merged = mergeFiles(files, options.chunkBytes ?? CHUNK_BYTES, read, warnings);
  try {
    for (;;) {
      const pageFull = total >= offset + limit;
      if (pageFull && options.countBytes === undefined) break;
      if (pageFull && total > offset + limit && read.bytes >= options.countBytes!) break;
      const next = await merged.next();
      if (next.done) return { letters, total, complete: true, warnings, bytesRead: read.bytes };
      const d = next.value;
      if (!matches(d)) continue;
      const key = deadLetterKey(d);
      if (seen.has(key)) continue;
      seen.add(key);
      if (total >= offset && total < offset + limit) letters.push(d);
      total++;
    }
  } finally {
    await merged.return(undefined); // closes the files it stopped in
  }
  return { letters, total, complete: false, warnings, bytesRead: read.bytes };
}

/** The dead letters of every file, the oldest head first; skipped lines go to `warnings`. */
async function* mergeFiles(
  files: readonly string[],
  chunkBytes: number,
  read: { bytes: number },
  warnings: ParseWarning[],
): AsyncGenerator<DeadLetter, void, undefined> {
  const sources = files.map((f) => fileLetters(f, chunkBytes, read, warnings));
  try {
    const heads: Array<DeadLetter | undefined> = [];
    for (const s of sources) heads.push((await s.next()).value ?? undefined);
    for (;;) {
      let i = -1;
      heads.forEach((h, j) => {
        if (h !== undefined && (i < 0 || compareDeadLetters(h, heads[i]!) < 0)) i = j;
      });
      if (i < 0) return;
      yield heads[i]!;
      heads[i] = (await sources[i]!.next()).value ?? undefined;
    }
  } finally {
    for (const s of sources) await s.return(undefined);
  }
}

async function* fileLetters(
  file: string,
  chunkBytes: number,
  read: { bytes: number },
  warnings: ParseWarning[],
): AsyncGenerator<DeadLetter, void, undefined> {
  for await (const { text, line, terminated } of fileLines(file, chunkBytes, read)) {
    const parsed = parseDeadLetterLine(text, file, line, terminated);
    if (parsed === undefined) continue;
    if ("reason" in parsed) warnings.push(parsed);
    else yield parsed;
  }
}

/**
 * The lines of a file (1-based), read chunk by chunk; `terminated` is false for a last line without
 * its newline (the sink may be writing it). Bytes are decoded a whole line at a time, so a UTF-8
 * character split between chunks stays whole. Stopping early closes the file.
 */
async function* fileLines(
  file: string,
  chunkBytes: number,
  read: { bytes: number },
): AsyncGenerator<{ text: string; line: number; terminated: boolean }, void, undefined> {
  const handle = await fsp.open(file, "r");
  try {
    const buf = Buffer.alloc(chunkBytes);
    let pending: Buffer[] = [];
    let line = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      read.bytes += bytesRead;
      let start = 0;
      for (let nl = buf.indexOf(0x0a, 0); nl >= 0 && nl < bytesRead; nl = buf.indexOf(0x0a, start)) {
        pending.push(buf.subarray(start, nl));
        yield { text: Buffer.concat(pending).toString("utf8"), line: ++line, terminated: true };
        pending = [];
        start = nl + 1;
      }
      // Copied: buf is read into again.
      if (start < bytesRead) pending.push(Buffer.from(buf.subarray(start, bytesRead)));
    }
    if (pending.length > 0)
      yield { text: Buffer.concat(pending).toString("utf8"), line: ++line, terminated: false };
  } finally {
    await handle.close();
  }
}
