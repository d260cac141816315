/**
 * The `sling` built-in sink with the real Sling CLI: batches of records land in a private PostgreSQL
 * (appended, nested JSON flattened to columns), a bad record fails alone, an unreachable target fails
 * the batch as retryable. Also validates a pipeline that uses `builtin: sling`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parsePipeline } from "../src/config/pipeline";
import { SlingSink } from "../src/builtins/sling/sink";
import type { Record } from "../src/stages/contract";
import { startPostgres, type TestPostgres } from "../src/testing/postgres";
import { toolPath } from "../src/testing/tools";

jest.setTimeout(60_000);

let pg: TestPostgres;
let dir: string;
beforeAll(async () => {
  pg = await startPostgres();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-sink-"));
}, 40_000);
afterAll(async () => {
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function records(from: number, n: number): Record[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r${from + i}`,
    key: Buffer.alloc(0),
    value: Buffer.from(
      JSON.stringify({ id: from + i, wiki: "enwiki", meta: { domain: "en.wikipedia.org" } }),
    ),
    headers: {},
    eventTimeMs: 0,
  }));
}

const env = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: dir,
  SLING_HOME_DIR: path.join(dir, ".sling"),
  COMMAND: pg.url(),
});

describe("sling sink", () => {
  it("appends each batch to a PostgreSQL table, nested JSON flattened", async () => {
    const sink = new SlingSink(
      { target: "COMMAND", object: "public.events", slingBin: toolPath("sling") },
      "wiki-to-db",
      env(),
    );
    const started = Date.now();
    const first = await sink.write(records(1, 2000));
    const second = await sink.write(records(2001, 2000));
    const seconds = (Date.now() - started) / 1000;
    sink.close();
    expect([...first, ...second].every((r) => r.error === null)).toBe(true);
    expect(await pg.query("select count(*), count(distinct id), min(id), max(id) from public.events")).toBe(
      "4000|4000|1|4000",
    );
    expect(await pg.query("select meta__domain from public.events where id = 7")).toBe("en.wikipedia.org");
    console.log(
      `sling sink: 4000 records in 2 batches in ${seconds.toFixed(2)} s (${Math.round(4000 / seconds)} records/s)`,
    );
  });

  it("fails a non-JSON record alone, and a batch whose target is unreachable as retryable", async () => {
    const sink = new SlingSink(
      { target: "COMMAND", object: "public.mixed", slingBin: toolPath("sling") },
      "p",
      env(),
    );
    const batch = records(1, 3);
    batch[1] = { ...batch[1], value: Buffer.from("not json") };
    const results = await sink.write(batch);
    expect(results.map((r) => r.error?.code ?? "ok")).toEqual(["ok", "INVALID_RECORD", "ok"]);
    expect(await pg.query("select count(*) from public.mixed")).toBe("2");

    const down = new SlingSink(
      {
        target: "postgresql://conveyor@127.0.0.1:1/postgres?sslmode=disable",
        object: "public.x",
        slingBin: toolPath("sling"),
        timeout: "20s",
      },
      "p",
      env(),
    );
    const failed = await down.write(records(1, 2));
    expect(failed.map((r) => [r.error?.code, r.error?.retryable])).toEqual([
      ["STAGE_FAILED", true],
      ["STAGE_FAILED", true],
    ]);
    expect(failed[0].error?.message).toMatch(/^sling sink \(pipeline p\): sling failed \(exit 1\)/);
  });

  it("a pipeline can use it (schema from the built-in registry)", () => {
    const ok = parsePipeline(
      "name: wiki-to-db\nsource: { stage: wiki }\nsink: { builtin: sling, config: { target: COMMAND, object: public.events } }\n",
    );
    expect(ok.name).toBe("wiki-to-db");
    expect(() =>
      parsePipeline(
        "name: bad\nsource: { stage: wiki }\nsink: { builtin: sling, config: { target: COMMAND, tabel: x } }\n",
      ),
    ).toThrow(/tabel/);
  });
});
