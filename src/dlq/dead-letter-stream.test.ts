import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toNdjsonLine } from "../builtins/file/ndjson-writer";
import { loadDeadLetters } from "./dead-letter-files";
import { readDeadLetterPage } from "./dead-letter-stream";
import { selectDeadLetters, type DeadLetterFilter, type ParseWarning } from "./dead-letters";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const STAGES = ["check", "enrich", "sink"];
const ERRORS = ["STAGE_FAILED: record is poisoned", "TIMEOUT: slow", "no code at all"];

function letterLine(n: number, value: string): string {
  return toNdjsonLine({
    id: `r-${n}`,
    key: Buffer.from(`k-${n}`),
    value: Buffer.from(value),
    headers: {
      app: "x",
      _dlq_error: ERRORS[n % 3]!,
      _dlq_stage: STAGES[Math.floor(n / 3) % 3]!,
      _dlq_attempts: "3",
      _dlq_ts: new Date(T0 + n * 10).toISOString(),
    },
    eventTimeMs: n,
  });
}

/** Bytes this process read through read(2) and the like, as the kernel counts them (Linux). */
function bytesReadByProcess(): number {
  const m = /^rchar: (\d+)$/m.exec(fs.readFileSync("/proc/self/io", "utf8"));
  return Number(m![1]);
}

/** The files under `dir` this process has open (other fds of the test worker come and go). */
const openFilesUnder = (dir: string): string[] =>
  fs.readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return []; // closed meanwhile (the fd readdir itself used, for one)
    }
  });

const byPlace = (ws: readonly ParseWarning[]): ParseWarning[] =>
  [...ws].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);

describe("readDeadLetterPage", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-dlq-stream-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("gives the pages selectDeadLetters gives over the whole files: two sinks' files, duplicates, bad lines, lines across chunks", async () => {
    // As two sidecars' sinks write them: each file in time order, a batch written twice now and then.
    const files = [path.join(dir, "p-a.ndjson"), path.join(dir, "p-b.ndjson")];
    const text = ["", ""];
    for (let n = 0; n < 300; n++) {
      const f = (n * 7) % 5 < 2 ? 0 : 1;
      const l = letterLine(n, n % 4 === 0 ? `é€😀 ${n}` : `{"n":${n}}`);
      text[f] += l;
      if (n % 29 === 0) text[f] += l; // at least once: the same dead letter again
      if (n % 97 === 0)
        text[f] += "{not json\n" + JSON.stringify({ id: "x", key: "", value: "", headers: {} }) + "\n";
    }
    text[1] += '{"id":"half'; // still being written
    files.forEach((f, i) => fs.writeFileSync(f, text[i]!));
    const old = await loadDeadLetters(files);

    const filters: DeadLetterFilter[] = [
      {},
      { stage: "check" },
      { error: "timeout" },
      { sinceMs: T0 + 1500 },
      { stage: "enrich", error: "POISONED" },
      { ids: ["r-3", "r-150", "r-299", "nope"] },
    ];
    for (const filter of filters) {
      const all = selectDeadLetters(old.letters, filter);
      for (const [offset, limit] of [
        [0, 1],
        [0, 50],
        [7, 10],
        [50, 50],
        [Math.max(0, all.length - 3), 50],
        [1000, 10],
      ] as const) {
        for (const chunkBytes of [509, 64 * 1024]) {
          const at = `filter ${JSON.stringify(filter)}, offset ${offset}, limit ${limit}, chunks of ${chunkBytes}`;
          const page = await readDeadLetterPage(
            files,
            { ...filter, offset, limit },
            { chunkBytes, countBytes: 0 },
          );
          expect([at, page.letters]).toEqual([at, all.slice(offset, offset + limit)]);
          if (page.complete) {
            expect([at, page.total]).toEqual([at, all.length]);
            expect(byPlace(page.warnings)).toEqual(byPlace(old.warnings));
          } else {
            // Stopped early, but only after seeing that a next page exists.
            expect([at, page.total > offset + limit]).toEqual([at, true]);
          }
        }
      }
      // Without a limit it reads everything, and says how many there are.
      const whole = await readDeadLetterPage(files, filter, { countBytes: 0 });
      expect(whole).toMatchObject({ letters: all, total: all.length, complete: true });
    }
    // Chunks smaller than a UTF-8 character: every line is put together from pieces.
    const tiny = await readDeadLetterPage(files, { limit: 40 }, { chunkBytes: 3 });
    expect(tiny.letters).toEqual(selectDeadLetters(old.letters, { limit: 40 }));
    expect(tiny.letters.filter((d) => d.value.toString().startsWith("é€😀 "))).toHaveLength(10);
  });

  it("answers the first page of a multi-MB file after reading a small part of it, and closes the file", async () => {
    const file = path.join(dir, "big-a.ndjson");
    const count = 16_000;
    const value = "v".repeat(450);
    const lines: string[] = [];
    for (let n = 0; n < count; n++) lines.push(letterLine(n, `${n} ${value}`));
    fs.writeFileSync(file, lines.join(""));
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(8 * 1024 * 1024);
    const old = await loadDeadLetters([file]); // the old way: the whole file, every page
    expect(openFilesUnder(dir)).toEqual([]);

    // The console's read: its page, then counting on up to 1 MiB.
    const kernelBefore = bytesReadByProcess();
    const first = await readDeadLetterPage([file], { offset: 0, limit: 50 }, { countBytes: 1024 * 1024 });
    const kernelRead = bytesReadByProcess() - kernelBefore;
    expect(first.letters).toEqual(selectDeadLetters(old.letters, { offset: 0, limit: 50 }));
    expect(first.complete).toBe(false);
    expect(first.bytesRead).toBeLessThan(1024 * 1024 + 64 * 1024);
    expect(kernelRead).toBeLessThan(size / 4); // as the kernel saw it, not only as the reader counts
    expect(first.total).toBeGreaterThan(50); // there is a next page
    expect(first.total).toBeLessThan(count);

    // `conveyor dlq list --limit 20`: one chunk is enough.
    const cli = await readDeadLetterPage([file], { stage: "enrich", limit: 20 });
    expect(cli.letters).toEqual(selectDeadLetters(old.letters, { stage: "enrich", limit: 20 }));
    expect(cli.bytesRead).toBeLessThanOrEqual(64 * 1024);

    // A time filter reads up to where its page ends, no further.
    const since = { sinceMs: T0 + 8000 * 10, error: "timeout", offset: 5, limit: 50 };
    const later = await readDeadLetterPage([file], since);
    expect(later.letters).toEqual(selectDeadLetters(old.letters, since));
    expect(later.bytesRead).toBeLessThan(size * 0.6);

    // The last page reads it all, and then the total is exact.
    const last = await readDeadLetterPage(
      [file],
      { offset: count - 30, limit: 50 },
      { countBytes: 1024 * 1024 },
    );
    expect(last.letters).toEqual(selectDeadLetters(old.letters, { offset: count - 30, limit: 50 }));
    expect(last).toMatchObject({ total: count, complete: true, bytesRead: size });

    expect(openFilesUnder(dir)).toEqual([]); // every page closed what it opened
  });

  it("follows each file's order: a line written late with an older _dlq_ts shows where it was written", async () => {
    const file = path.join(dir, "late-a.ndjson");
    fs.writeFileSync(file, letterLine(2, "two") + letterLine(1, "one") + letterLine(3, "three"));
    const page = await readDeadLetterPage([file], {});
    expect(page.letters.map((d) => d.id)).toEqual(["r-2", "r-1", "r-3"]);
    // (selectDeadLetters, reading everything, sorts it first.)
    const old = await loadDeadLetters([file]);
    expect(selectDeadLetters(old.letters, {}).map((d) => d.id)).toEqual(["r-1", "r-2", "r-3"]);
  });
});
