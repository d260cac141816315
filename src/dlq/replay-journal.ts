/**
 * Which dead letters were replayed: `<dead-letter file>.replayed` beside each dead-letter file,
 * append-only, one JSON line per replayed dead letter — {"id","ts","replayedAt"}, where ts is the
 * dead letter's `_dlq_ts` (a record that fails again after a replay is a new dead letter, with a
 * new ts). Lines are appended and fsynced only after the sidecar confirmed the records, so a crash in
 * between replays them again on the next run (at least once), never loses one.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { fsyncDir } from "../durable-file";
import { deadLetterKey, type ParseWarning } from "./dead-letters";

export interface JournalEntry {
  id: string;
  ts: string;
  replayedAt: string;
}

export function journalPath(deadLetterFile: string): string {
  return `${deadLetterFile}.replayed`;
}

/** The journal's text → keys (deadLetterKey) of replayed dead letters; a bad line is a warning. */
export function parseJournal(
  text: string,
  file: string,
): { replayed: Set<string>; warnings: ParseWarning[] } {
  const replayed = new Set<string>();
  const warnings: ParseWarning[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    try {
      const e = JSON.parse(raw) as Partial<JournalEntry>;
      if (typeof e.id !== "string" || typeof e.ts !== "string") throw new Error("needs id and ts");
      replayed.add(deadLetterKey({ id: e.id, ts: e.ts }));
    } catch (err) {
      warnings.push({ file, line: i + 1, reason: `bad journal line (${(err as Error).message})` });
    }
  });
  return { replayed, warnings };
}

/** Reads the journal of `deadLetterFile`; none yet is an empty one. */
export async function readJournal(
  deadLetterFile: string,
): Promise<{ replayed: Set<string>; warnings: ParseWarning[] }> {
  const file = journalPath(deadLetterFile);
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { replayed: new Set(), warnings: [] };
    throw err;
  }
  return parseJournal(text, file);
}

/** Appends entries to the journal of `deadLetterFile` and makes them durable before resolving. */
export async function appendJournal(deadLetterFile: string, entries: readonly JournalEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const file = journalPath(deadLetterFile);
  const created = await fsp.stat(file).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === "ENOENT",
  );
  const handle = await fsp.open(file, "a");
  try {
    await handle.appendFile(entries.map((e) => JSON.stringify(e) + "\n").join(""), "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  // A new file's directory entry is durable only once the directory is synced.
  if (created) await fsyncDir(path.dirname(file));
}
