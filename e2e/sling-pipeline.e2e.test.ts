/**
 * `builtin: sling` as a pipeline source, run by a sidecar: rows of a SQLite
 * mission database (read through the real Sling CLI) flow into a built-in
 * file sink; rows added later are picked up by the next poll, and only they.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { AdminApi } from "../src/cli/admin-client";
import { addMissionRows } from "../src/builtins/sling/test-support/sling-fixtures";
import { toolPath } from "../src/testing/tools";
import { freePortBlock } from "./harness/ports";
import { eventually, readSinkFile } from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.41.1";
const POD = "127.0.41.2";

describe("builtin: sling as a pipeline source", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-sling-pipeline-"));
  const cluster = new LocalCluster(dir);
  let api: AdminApi | undefined;

  afterAll(async () => {
    api?.close();
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads the table's rows into the sink, then only the rows added later", async () => {
    const sling = toolPath("sling");
    const db = path.join(dir, "mission.db");
    const env = { PATH: process.env.PATH, HOME: dir, SLING_HOME_DIR: path.join(dir, ".sling") };
    await addMissionRows(sling, env, db, 1, 300);

    const base = await freePortBlock([ROUTER_HOST, POD], 6);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    api = new AdminApi(router);
    const outDir = path.join(dir, "out");
    await api.applyPipeline({
      definition: JSON.stringify({
        name: "telemetry",
        source: {
          builtin: "sling",
          name: "mission",
          config: {
            connection: `sqlite://${db}`,
            stream: "main.telemetry",
            updateKey: "id",
            primaryKey: ["id"],
            pollIntervalMs: 500,
            slingBin: sling,
            stateDir: path.join(dir, "state"),
          },
        },
        sink: { builtin: "file", config: { dir: outDir } },
      }),
    });
    await cluster.startSidecar({
      id: "s",
      host: POD,
      port: base + 1,
      router,
      discoveryStartPort: base + 5,
      discoveryEndPort: base + 5,
    });

    const outFile = path.join(outDir, "telemetry-s.ndjson");
    const ids = (): string[] => readSinkFile(outFile).map((l) => l.id);
    await eventually(
      () => new Set(ids()).size >= 300,
      60_000,
      () => `${new Set(ids()).size} of 300 rows`,
    );
    await addMissionRows(sling, env, db, 301, 50);
    await eventually(
      () => new Set(ids()).size >= 350,
      60_000,
      () => `${new Set(ids()).size} of 350 rows`,
    );
    expect([...new Set(ids())].map(Number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 350 }, (_, i) => i + 1),
    );
    // Polls after the first read asked only for rows past the acked cursor: nothing came twice.
    expect(ids()).toHaveLength(350);
    const first = readSinkFile(outFile)[0]!;
    expect(first.headers["sling-stream"]).toBe("main.telemetry");
    expect(JSON.parse(first.value ?? "{}")).toHaveProperty("id");
  });
});
