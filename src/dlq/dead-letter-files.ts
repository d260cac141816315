/**
 * Finds and reads dead-letter files: the NDJSON files a `builtin: file` dead-letter sink writes,
 * `<dir>/<pipeline>-<sidecar>.ndjson` (one per sidecar that ran the sink), with their replay journals.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { parseDeadLetters, type DeadLetter, type ParseWarning } from "./dead-letters";
import { readJournal } from "./replay-journal";

export interface DeadLetterSource {
  /** Dead-letter files named one by one. */
  files?: readonly string[];
  /** The sink's `config.dir`: every `*.ndjson` in it, or the pipeline's only when `pipeline` is set. */
  dir?: string;
  pipeline?: string;
}

/** The file sink's name for a pipeline or sidecar id in a file name (src/builtins/file/stage.ts). */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

export async function resolveDeadLetterFiles(source: DeadLetterSource): Promise<string[]> {
  const files = [...(source.files ?? [])];
  for (const f of files) {
    const stat = await fsp.stat(f).catch(() => undefined);
    if (!stat) throw new Error(`dead-letter file ${f} does not exist`);
    if (!stat.isFile()) throw new Error(`${f} is not a file`);
  }
  if (source.dir !== undefined) {
    let names: string[];
    try {
      names = await fsp.readdir(source.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        code === "ENOENT"
          ? `dead-letter directory ${source.dir} does not exist`
          : `cannot read dead-letter directory ${source.dir}: ${(err as Error).message}`,
      );
    }
    const prefix = source.pipeline !== undefined ? `${safeName(source.pipeline)}-` : "";
    const found = names.filter((n) => n.endsWith(".ndjson") && n.startsWith(prefix)).sort();
    if (found.length === 0)
      throw new Error(
        `no dead-letter files (${prefix || ""}*.ndjson) in ${source.dir}` +
          (source.pipeline !== undefined ? ` for pipeline "${source.pipeline}"` : ""),
      );
    files.push(...found.map((n) => path.join(source.dir!, n)));
  }
  if (files.length === 0) throw new Error("name the dead letters: --dir <sink dir> or --file <file>");
  return files;
}

export interface LoadedDeadLetters {
  letters: DeadLetter[];
  warnings: ParseWarning[];
  /** deadLetterKey()s that a journal lists as replayed. */
  replayed: Set<string>;
}

/** Every dead letter of the files, read whole (replay needs them all; a page reads less: dead-letter-stream.ts). */
export async function loadDeadLetters(files: readonly string[]): Promise<LoadedDeadLetters> {
  const out: LoadedDeadLetters = { letters: [], warnings: [], replayed: new Set() };
  for (const file of files) {
    const parsed = parseDeadLetters(await fsp.readFile(file, "utf8"), file);
    out.letters.push(...parsed.letters);
    out.warnings.push(...parsed.warnings);
    const journal = await readJournal(file);
    for (const k of journal.replayed) out.replayed.add(k);
    out.warnings.push(...journal.warnings);
  }
  return out;
}

/** What the replay journals of the files list as replayed (deadLetterKey()s). */
export async function loadReplayed(
  files: readonly string[],
): Promise<{ replayed: Set<string>; warnings: ParseWarning[] }> {
  const out = { replayed: new Set<string>(), warnings: [] as ParseWarning[] };
  for (const file of files) {
    const journal = await readJournal(file);
    for (const k of journal.replayed) out.replayed.add(k);
    out.warnings.push(...journal.warnings);
  }
  return out;
}
