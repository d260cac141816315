/**
 * The Sling source's reader against a fake `sling` (a Node script that plays a database table held in a
 * JSON-lines file: it evaluates the reader's `K > cursor order by K` and `--limit` and writes the rows
 * where `--tgt-object` says). Credits, ties, run limits, resume and failures, fast; the real Sling is
 * in e2e/sling-source.e2e.test.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConveyorError } from "../../errors";
import type { SourceBatch } from "../../stages/contract";
import { createLogger } from "../../telemetry/log";
import { openSlingSource, type SlingSource } from "./source";
import type { SlingSourceConfig } from "./source-config";

jest.setTimeout(20_000);

const log = createLogger("sling-source-test");
log.level = "silent";

const FAKE_SLING = `#!/usr/bin/env node
const fs = require("node:fs");
const args = process.argv.slice(2);
const arg = (name) => args[args.indexOf(name) + 1];
fs.appendFileSync(process.env.FAKE_CALLS, JSON.stringify({ pid: process.pid, limit: Number(arg("--limit")), query: arg("--src-stream") }) + "\\n");
if (process.env.FAKE_FAIL) {
  process.stderr.write("fatal:\\n~ could not connect to database\\n" + process.env.FAKE_FAIL + "\\n");
  process.exit(1);
}
if (process.env.FAKE_HANG) setInterval(() => {}, 1000);
else {
  const m = /where (\\w+) is not null(?: and \\w+ > (.+?))? order by/.exec(arg("--src-stream"));
  const key = m[1];
  const after = m[2] === undefined ? undefined : m[2].startsWith("'") ? m[2].slice(1, -1) : Number(m[2]);
  const rows = fs.readFileSync(process.env.FAKE_TABLE, "utf8").split("\\n").filter(Boolean).map((l) => JSON.parse(l));
  const out = rows
    .filter((r) => r[key] !== null && (after === undefined || r[key] > after))
    .sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0))
    .slice(0, Number(arg("--limit")));
  if (out.length > 0) fs.writeFileSync(arg("--tgt-object").slice("file://".length), out.map((r) => JSON.stringify(r) + "\\n").join(""));
  console.log(JSON.stringify({ lvl: "info", msg: "wrote " + out.length + " rows to x" }));
  console.log(JSON.stringify({ lvl: "info", msg: "execution succeeded" }));
}
`;

let dir: string;
let bin: string;
let table: string;
let calls: string;
let tmp: string;
const readers: SlingSource[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-source-test-"));
  bin = path.join(dir, "sling");
  fs.writeFileSync(bin, FAKE_SLING, { mode: 0o755 });
  table = path.join(dir, "table.jsonl");
  calls = path.join(dir, "calls.jsonl");
  fs.writeFileSync(table, "");
  tmp = path.join(dir, "tmp"); // the readers' temp directories
  fs.mkdirSync(tmp);
});

afterEach(async () => {
  for (const r of readers.splice(0)) {
    r.close();
    await r.whenClosed();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Appends rows {id, k} to the fake table; k defaults to id. */
function addRows(rows: Array<{ id: number; k?: number }>): void {
  fs.appendFileSync(table, rows.map((r) => `${JSON.stringify({ id: r.id, k: r.k ?? r.id })}\n`).join(""));
}
const range = (from: number, n: number): Array<{ id: number }> =>
  Array.from({ length: n }, (_, i) => ({ id: from + i }));

function open(
  config: Partial<SlingSourceConfig> = {},
  env: NodeJS.ProcessEnv = {},
): { reader: SlingSource; batches: SourceBatch[]; ends: Array<Error | undefined> } {
  const reader = openSlingSource(
    {
      connection: "FAKE",
      stream: "t",
      updateKey: "k",
      primaryKey: ["id"],
      batchSize: 10,
      pollIntervalMs: 50,
      slingBin: bin,
      ...config,
    },
    {
      stateDir: path.join(dir, "state"),
      log,
      env: { PATH: process.env.PATH, FAKE_TABLE: table, FAKE_CALLS: calls, ...env },
      killGraceMs: 500,
      tmpDir: tmp,
    },
  );
  readers.push(reader);
  const batches: SourceBatch[] = [];
  const ends: Array<Error | undefined> = [];
  reader.onBatch((b) => batches.push(b));
  reader.onEnd((err) => ends.push(err));
  return { reader, batches, ends };
}

const ids = (batches: SourceBatch[]): number[] => batches.flatMap((b) => b.records.map((r) => Number(r.id)));
const count = (batches: SourceBatch[]): number => batches.reduce((n, b) => n + b.records.length, 0);
const runs = (): Array<{ pid: number; limit: number; query: string }> =>
  fs.existsSync(calls)
    ? fs
        .readFileSync(calls, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { pid: number; limit: number; query: string })
    : [];

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every batch's cursor covers only rows already sent: no row with k <= cursor comes later. */
function expectNoSkippingCursor(batches: SourceBatch[]): void {
  batches.forEach((b, i) => {
    if (b.cursor === "") return;
    const later = batches.slice(i + 1).flatMap((x) => x.records.map((r) => JSON.parse(r.value.toString()).k));
    expect(later.filter((k: number) => k <= Number(b.cursor))).toEqual([]);
  });
}

describe("SlingSource (fake sling)", () => {
  it("sends only within credits, in batches of batchSize, cursor = the batch's last update key", async () => {
    addRows(range(1, 25));
    const { reader, batches } = open();
    reader.grant(15);
    await waitFor(() => count(batches) === 15, "15 records");
    await pause(200);
    expect(batches.map((b) => [b.records.length, b.cursor])).toEqual([
      [10, "10"],
      [5, "15"],
    ]);
    reader.grant(100);
    await waitFor(() => count(batches) === 25, "25 records");
    expect(ids(batches)).toEqual(range(1, 25).map((r) => r.id));
    const r = batches[0].records[0];
    expect(JSON.parse(r.value.toString())).toEqual({ id: 1, k: 1 });
    expect(r.headers).toEqual({ "sling-stream": "t", "sling-update-key": "1" });
  });

  it("polls for new rows after the stream is read to its end, asking only for rows after the last one", async () => {
    addRows(range(1, 3));
    const { reader, batches } = open();
    reader.grant(1000);
    await waitFor(() => count(batches) === 3, "3 records");
    addRows(range(4, 2));
    await waitFor(() => count(batches) === 5, "the 2 new records");
    expect(ids(batches)).toEqual([1, 2, 3, 4, 5]);
    expect(runs().some((r) => r.query.includes("and k > 3 order by k"))).toBe(true);
  });

  it("never acks past a tie: a batch splitting rows of one value keeps the previous cursor", async () => {
    addRows([
      { id: 1, k: 1 },
      { id: 2, k: 2 },
      { id: 3, k: 2 },
      { id: 4, k: 2 },
      { id: 5, k: 3 },
      { id: 6, k: 3 },
      { id: 7, k: 4 },
    ]);
    const { reader, batches } = open({ batchSize: 2 });
    reader.grant(1000);
    await waitFor(() => count(batches) === 7, "7 records");
    expect(batches.map((b) => [ids([b]), b.cursor])).toEqual([
      [[1, 2], "1"],
      [[3, 4], "2"],
      [[5, 6], "3"],
      [[7], "4"],
    ]);
    expectNoSkippingCursor(batches);
  });

  it("reads in runs of maxRowsPerRun, re-reading a value cut by the limit, doubling it when one value fills a run", async () => {
    addRows([
      { id: 1, k: 1 },
      { id: 2, k: 1 },
      { id: 3, k: 2 },
      { id: 4, k: 3 },
      { id: 5, k: 3 },
      { id: 6, k: 3 },
      { id: 7, k: 3 },
      { id: 8, k: 3 },
      { id: 9, k: 4 },
    ]);
    const { reader, batches } = open({ maxRowsPerRun: 3, batchSize: 100 });
    reader.grant(1000);
    await waitFor(() => count(batches) === 9, "9 records");
    await pause(150);
    expect(ids(batches)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expectNoSkippingCursor(batches);
    // 1,1,|2 → 2,3,|3 → 3,3,3 (one value: limit doubled) → 3,3,3,3,3,|4 → 4 (below the limit: caught up)
    const first = runs().slice(0, 5);
    expect(first.map((r) => r.limit)).toEqual([3, 3, 3, 6, 3]);
    expect(first.map((r) => /k > (\d+)/.exec(r.query)?.[1] ?? null)).toEqual([null, "1", "2", "2", "3"]);
  });

  it("a new reader resumes after the last acked cursor: unacked rows come again, acked ones never", async () => {
    addRows(range(1, 30));
    const first = open();
    first.reader.grant(30);
    await waitFor(() => count(first.batches) === 30, "30 records");
    first.reader.grant(0, first.batches[1].cursor); // rows 1..20 are durable downstream
    first.reader.close();
    await first.reader.whenClosed();
    expect(JSON.parse(fs.readFileSync(first.reader.stateFile, "utf8"))).toEqual({
      version: 1,
      updateKey: "k",
      cursor: "20",
    });
    addRows(range(31, 5));
    const second = open();
    second.reader.grant(1000);
    await waitFor(() => count(second.batches) === 15, "15 records");
    expect(ids(second.batches)).toEqual(range(21, 15).map((r) => r.id));
  });

  it("a failing Sling run ends the reader through onEnd with SLING_SOURCE_FAILED and Sling's error", async () => {
    const { reader, ends, batches } = open({}, { FAKE_FAIL: "unable to open database file" });
    reader.grant(10);
    await waitFor(() => ends.length === 1, "the end");
    expect(ends[0]).toBeInstanceOf(ConveyorError);
    expect((ends[0] as ConveyorError).code).toBe("SLING_SOURCE_FAILED");
    expect(ends[0]!.message).toMatch(
      /^sling source \(stream t\): sling failed \(exit 1\): .*unable to open database file/,
    );
    expect(batches).toEqual([]);
  });

  it("a row without the update key ends the reader with CONFIG_INVALID", async () => {
    addRows(range(1, 2));
    const { reader, ends } = open({ updateKey: "updated_at" });
    reader.grant(10);
    await waitFor(() => ends.length === 1, "the end");
    expect((ends[0] as ConveyorError).code).toBe("CONFIG_INVALID");
    expect(ends[0]!.message).toContain('no update key column "updated_at"');
  });

  it("close() kills a running Sling (its process group) and removes the temp files", async () => {
    const { reader, ends } = open({}, { FAKE_HANG: "1" });
    await waitFor(() => runs().length === 1, "sling started");
    expect(fs.readdirSync(tmp)).toEqual([expect.stringMatching(/^conveyor-sling-source-/)]);
    const started = Date.now();
    reader.close();
    await reader.whenClosed();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(() => process.kill(runs()[0].pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    expect(ends).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
