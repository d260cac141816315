/**
 * The `sling` built-in as a pipeline Source with the real Sling CLI: a SQLite mission database (made
 * through `sling conns exec`, like the other Sling tests) read within the granted credits; close,
 * add rows, reopen: only the new rows come (nothing acked again, nothing skipped); a new row is found by
 * polling; a string update key (timestamps) through a SQL stream; bad connections end the reader with
 * Sling's error. Then the same against the private PostgreSQL (timestamptz update key, name folding).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConveyorError } from "../src/errors";
import { openSlingSource, type SlingSource } from "../src/builtins/sling/source";
import type { SlingSourceConfig } from "../src/builtins/sling/source-config";
import { addMissionRows, slingExec } from "../src/builtins/sling/test-support/sling-fixtures";
import type { SourceBatch } from "../src/stages/contract";
import { createLogger } from "../src/telemetry/log";
import { startPostgres, type TestPostgres } from "../src/testing/postgres";
import { toolPath } from "../src/testing/tools";

jest.setTimeout(60_000);

const log = createLogger("sling-source-e2e");
log.level = "silent";

let dir: string;
let db: string;
const readers: SlingSource[] = [];

const env = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: dir,
  SLING_HOME_DIR: path.join(dir, ".sling"),
  MISSION_DB: `sqlite://${db}`,
});

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-source-e2e-"));
  db = path.join(dir, "mission.db");
  fs.mkdirSync(path.join(dir, "tmp"));
  await addMissionRows(toolPath("sling"), env(), db, 1, 500);
});

afterEach(async () => {
  for (const r of readers.splice(0)) {
    r.close();
    await r.whenClosed();
  }
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(
  config: Partial<SlingSourceConfig> = {},
  extraEnv: NodeJS.ProcessEnv = {},
): { reader: SlingSource; batches: SourceBatch[]; ends: Array<Error | undefined> } {
  const reader = openSlingSource(
    {
      connection: "MISSION_DB",
      stream: "main.telemetry",
      updateKey: "id",
      primaryKey: ["id"],
      batchSize: 100,
      pollIntervalMs: 300,
      slingBin: toolPath("sling"),
      timeout: "30s",
      ...config,
    },
    {
      stateDir: path.join(dir, "state"),
      log,
      env: { ...env(), ...extraEnv },
      killGraceMs: 1000,
      tmpDir: path.join(dir, "tmp"),
    },
  );
  readers.push(reader);
  const batches: SourceBatch[] = [];
  const ends: Array<Error | undefined> = [];
  reader.onBatch((b) => batches.push(b));
  reader.onEnd((err) => ends.push(err));
  return { reader, batches, ends };
}

const ids = (batches: SourceBatch[]): string[] => batches.flatMap((b) => b.records.map((r) => r.id));
const count = (batches: SourceBatch[]): number => batches.reduce((n, b) => n + b.records.length, 0);
const seq = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => String(from + i));
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("sling source (real Sling, SQLite)", () => {
  it("reads within credits, resumes after the acked cursor with only the new rows, polls for more", async () => {
    const started = Date.now();
    const first = open();
    first.reader.grant(250);
    await waitFor(() => count(first.batches) === 250, "250 records");
    await pause(500);
    expect(count(first.batches)).toBe(250); // no credit, no record
    first.reader.grant(250, first.batches.at(-1)!.cursor);
    await waitFor(() => count(first.batches) === 500, "500 records");
    const seconds = (Date.now() - started) / 1000;
    expect(ids(first.batches)).toEqual(seq(1, 500));
    expect(first.batches.map((b) => b.records.length)).toEqual([100, 100, 50, 100, 100, 50]);
    expect(first.batches.at(-1)!.cursor).toBe("500");
    const row = JSON.parse(first.batches[0].records[6].value.toString()) as { [c: string]: unknown };
    expect(row).toMatchObject({ id: 7, sensor: "pressure", ts: "2025-01-01T00:07:00.000Z" });
    console.log(
      `sling source: 500 rows from SQLite in ${seconds.toFixed(2)} s (${Math.round(500 / seconds)} rows/s, one Sling run)`,
    );

    first.reader.grant(0, "500"); // everything is durable downstream
    first.reader.close();
    await first.reader.whenClosed();
    expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]); // Sling's temp files are gone

    await addMissionRows(toolPath("sling"), env(), db, 501, 40);
    const second = open();
    second.reader.grant(1000);
    await waitFor(() => count(second.batches) === 40, "the 40 new records");
    expect(ids(second.batches)).toEqual(seq(501, 40));

    await addMissionRows(toolPath("sling"), env(), db, 541, 3); // found by the next poll
    await waitFor(() => count(second.batches) === 43, "3 more records by polling");
    await pause(800);
    expect(ids(second.batches)).toEqual(seq(501, 43));
    expect(second.ends).toEqual([]);
  });

  it("an unacked read comes again after a reopen (at least once), from the acked cursor on", async () => {
    const stateDir = path.join(dir, "state-unacked");
    const first = open({ stateDir, batchSize: 10, stream: "select * from telemetry where id <= 30" });
    first.reader.grant(30);
    await waitFor(() => count(first.batches) === 30, "30 records");
    first.reader.grant(0, first.batches[0].cursor); // only ids 1..10 confirmed, then a crash
    await pause(100);
    first.reader.close();
    await first.reader.whenClosed();
    const second = open({ stateDir, batchSize: 10, stream: "select * from telemetry where id <= 30" });
    second.reader.grant(100);
    await waitFor(() => count(second.batches) === 20, "20 records");
    await pause(500);
    expect(ids(second.batches)).toEqual(seq(11, 20));
  });

  it("a string update key (timestamps) through a SQL stream, resumed with a quoted literal", async () => {
    const stateDir = path.join(dir, "state-ts");
    const stream = "select id, ts, sensor, value from telemetry where sensor = 'temp'";
    const first = open({ stateDir, stream, updateKey: "ts", batchSize: 1000 });
    first.reader.grant(10_000);
    await waitFor(() => count(first.batches) === 271, "the 271 temp rows (even ids up to 542)");
    const cursor = first.batches.at(-1)!.cursor;
    expect(cursor).toBe(JSON.stringify(new Date(Date.UTC(2025, 0, 1) + 542 * 60_000).toISOString()));
    first.reader.grant(0, cursor);
    first.reader.close();
    await first.reader.whenClosed();
    await addMissionRows(toolPath("sling"), env(), db, 544, 4); // 544, 546 are temp
    const second = open({ stateDir, stream, updateKey: "ts" });
    second.reader.grant(100);
    await waitFor(() => count(second.batches) === 2, "2 new temp rows");
    expect(ids(second.batches)).toEqual(["544", "546"]);
  });

  it("throughput: 20,000 rows in runs of 5,000 (each full run continues at once after its last value)", async () => {
    const big = path.join(dir, "big.db");
    await slingExec(
      toolPath("sling"),
      [
        "conns",
        "exec",
        "BIG_DB",
        "create table telemetry (id integer primary key, ts text not null, sensor text not null, value real);" +
          " insert into telemetry with recursive c(i) as (select 1 union all select i + 1 from c where i < 20000)" +
          " select i, strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || i || ' minutes')," +
          " case i % 2 when 0 then 'temp' else 'pressure' end, 20 + i % 50 / 10.0 from c;",
      ],
      { ...env(), BIG_DB: `sqlite://${big}` },
    );
    const started = Date.now();
    const { reader, batches } = open({
      connection: `sqlite://${big}`,
      stateDir: path.join(dir, "state-big"),
      batchSize: 1000,
      maxRowsPerRun: 5000,
    });
    reader.grant(1_000_000);
    await waitFor(() => count(batches) === 20_000, "20,000 records");
    const seconds = (Date.now() - started) / 1000;
    expect(ids(batches)).toEqual(seq(1, 20_000));
    console.log(
      `sling source: 20000 rows from SQLite in ${seconds.toFixed(2)} s (${Math.round(20_000 / seconds)} rows/s, 5 Sling runs)`,
    );
  });

  it("a bad connection ends the reader through onEnd with Sling's own error", async () => {
    const missing = open({ connection: "sqlite:///nonexistent-dir/x.db", stateDir: path.join(dir, "s1") });
    const unknown = open({ connection: "NO_SUCH_CONNECTION", stateDir: path.join(dir, "s2") });
    missing.reader.grant(10);
    unknown.reader.grant(10);
    await waitFor(() => missing.ends.length === 1 && unknown.ends.length === 1, "both ends");
    for (const e of [missing.ends[0], unknown.ends[0]]) {
      expect(e).toBeInstanceOf(ConveyorError);
      expect((e as ConveyorError).code).toBe("SLING_SOURCE_FAILED");
    }
    expect(missing.ends[0]!.message).toMatch(/unable to open database file/);
    expect(unknown.ends[0]!.message).toMatch(/could not find connection NO_SUCH_CONNECTION/);
    expect(missing.batches).toEqual([]);
  });
});

describe("sling source (real Sling, PostgreSQL)", () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 40_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it("a timestamptz update key (microseconds) round-trips through the cursor; a camelCase key is found after folding", async () => {
    await pg.query(
      "create table public.events (id bigint primary key, updatedAt timestamptz not null, body jsonb);" +
        "insert into public.events select i, timestamptz '2025-01-01 00:00:00+00' + i * interval '1 second'," +
        ` jsonb_build_object('n', i) from generate_series(1, 50) i;`,
    );
    const config = {
      connection: pg.url(),
      stream: "public.events",
      updateKey: "updatedAt",
      stateDir: path.join(dir, "state-pg"),
    };
    const first = open(config);
    first.reader.grant(1000);
    await waitFor(() => count(first.batches) === 50, "50 records");
    expect(ids(first.batches)).toEqual(seq(1, 50));
    first.reader.grant(0, first.batches.at(-1)!.cursor);
    first.reader.close();
    await first.reader.whenClosed();
    await pg.query(
      "insert into public.events select i, timestamptz '2025-01-01 00:00:00+00' + i * interval '1.234567 second', null" +
        " from generate_series(51, 55) i;",
    );
    const second = open(config);
    second.reader.grant(1000);
    await waitFor(() => count(second.batches) === 5, "5 new records");
    await pause(1000);
    expect(ids(second.batches)).toEqual(seq(51, 5));
    // Sling writes timestamptz as RFC 3339 UTC with the microseconds: the literal compares exactly, so the
    // polls after it (pollIntervalMs 300) found nothing again.
    expect(second.batches.map((b) => b.cursor)).toEqual(['"2025-01-01T00:01:07.901185Z"']);
    expect(second.ends).toEqual([]);
  });
});
