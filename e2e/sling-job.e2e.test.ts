/**
 * `conveyor sling run|noop|backfill` as a real process with the real Sling CLI (1.4.11): SQLite mission
 * databases → a private PostgreSQL (src/testing/postgres.ts) and → local files; incremental and backfill
 * runs; noop; retries with backoff; the timeout and SIGTERM killing Sling's whole process group.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManagedProcess, type ExitStatus } from "../src/cluster/managed-process";
import { addMissionRows, writeReplication } from "../src/builtins/sling/test-support/sling-fixtures";
import { startPostgres, type TestPostgres } from "../src/testing/postgres";
import { toolPath } from "../src/testing/tools";

jest.setTimeout(60_000);

const SLING = toolPath("sling");
let pg: TestPostgres;
let dir: string;
let env: NodeJS.ProcessEnv;
const processes: ManagedProcess[] = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 40_000);
afterAll(async () => {
  await pg?.stop();
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-e2e-"));
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    SLING_HOME_DIR: path.join(dir, ".sling"), // Sling writes env.yaml and a .sling.db here
    SLING_BIN: SLING,
    SLING_STATE: `file://${path.join(dir, "sling_state.json")}`,
    MISSION_CLUSTER_ID: "mars-1",
    SYNC_BACKOFF_BASE: "100ms",
    LOG_LEVEL: "info",
  };
});

afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop(5000);
  fs.rmSync(dir, { recursive: true, force: true });
});

interface CliRun {
  status: ExitStatus;
  output: string;
  process: ManagedProcess;
}

function startCli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): ManagedProcess {
  const p = ManagedProcess.conveyor("conveyor-sling", ["sling", ...args], {
    ...env,
    ...extraEnv,
  });
  processes.push(p);
  return p;
}

async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const p = startCli(args, extraEnv);
  const status = await p.exited;
  return { status, output: p.output(), process: p };
}

/** The pino JSON lines a run wrote to stderr. */
function logLines(output: string): Array<{ [k: string]: unknown }> {
  return output
    .split("\n")
    .filter((l) => l.startsWith('{"level"'))
    .map((l) => JSON.parse(l) as { [k: string]: unknown });
}

/** PIPELINE → [STATUS, ATTEMPTS, ROWS] from the result table on stdout. */
function resultTable(output: string): { [pipeline: string]: [string, number, number] } {
  const rows: { [pipeline: string]: [string, number, number] } = {};
  for (const m of output.matchAll(/^(\S+)\s+(succeeded|failed|cancelled)\s+(\d+)\s+(\d+)\s+\S+$/gm)) {
    rows[m[1]] = [m[2], Number(m[3]), Number(m[4])];
  }
  return rows;
}

/** Running, not merely a zombie waiting for PID 1 to reap it (a killed orphan is one for a moment). */
function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function missionsToPostgres(schema: string): Promise<string> {
  const pipelines = path.join(dir, "pipelines");
  for (const m of ["alpha", "bravo"]) {
    writeReplication(path.join(pipelines, `mission-${m}.yaml`), {
      source: `MISSION_${m.toUpperCase()}`,
      target: "COMMAND",
      stream: "main.telemetry",
      object: `${schema}.${m}_telemetry`,
    });
    env[`MISSION_${m.toUpperCase()}`] = `sqlite://${path.join(dir, `${m}.db`)}`;
  }
  env.COMMAND = pg.url();
  await pg.query(`create schema ${schema}`);
  await addMissionRows(SLING, env, path.join(dir, "alpha.db"), 1, 100);
  await addMissionRows(SLING, env, path.join(dir, "bravo.db"), 1, 50);
  env.PIPELINE_DIR = pipelines;
  return pipelines;
}

const count = async (table: string): Promise<number> =>
  Number(await pg.query(`select count(*) from ${table}`));

describe("sling job with the real Sling CLI", () => {
  it("SQLite missions → PostgreSQL: all rows, then only new rows (incremental), then backfill re-syncs all", async () => {
    await missionsToPostgres("inc");

    const first = await cli(["run"]);
    expect(first.status).toEqual({ code: 0, signal: null });
    expect(resultTable(first.output)).toEqual({
      "mission-alpha": ["succeeded", 1, 100],
      "mission-bravo": ["succeeded", 1, 50],
    });
    expect(await count("inc.alpha_telemetry")).toBe(100);
    expect(await count("inc.bravo_telemetry")).toBe(50);

    await addMissionRows(SLING, env, path.join(dir, "alpha.db"), 101, 20);
    const second = await cli(["run"]);
    expect(second.status.code).toBe(0);
    expect(resultTable(second.output)).toEqual({
      "mission-alpha": ["succeeded", 1, 20],
      "mission-bravo": ["succeeded", 1, 0],
    });
    expect(await count("inc.alpha_telemetry")).toBe(120);
    expect(await pg.query("select min(id) || '-' || max(id) from inc.alpha_telemetry")).toBe("1-120");

    // Lose rows in the command database: an incremental run cannot see it, a backfill repairs it.
    await pg.query("delete from inc.alpha_telemetry where id <= 30");
    const state = JSON.parse(fs.readFileSync(path.join(dir, "sling_state.json"), "utf8")) as {
      pipelines: { [p: string]: { lastJobId: string; totalRows: number } };
    };
    expect(state.pipelines["mission-alpha"].totalRows).toBe(120);
    const backfill = await cli(["backfill"]);
    expect(backfill.status.code).toBe(0);
    expect(resultTable(backfill.output)).toEqual({
      "mission-alpha": ["succeeded", 1, 120],
      "mission-bravo": ["succeeded", 1, 50],
    });
    expect(await count("inc.alpha_telemetry")).toBe(120);
    expect(await count("inc.bravo_telemetry")).toBe(50);
    const after = JSON.parse(fs.readFileSync(path.join(dir, "sling_state.json"), "utf8")) as typeof state;
    expect(after.pipelines["mission-alpha"].totalRows).toBe(120); // cleared, then one full run
    expect(after.pipelines["mission-alpha"].lastJobId).not.toBe(state.pipelines["mission-alpha"].lastJobId);
    expect(logLines(backfill.output).some((l) => /backfill: state cleared/.test(String(l.msg)))).toBe(true);
    // Each job had its own sync job id.
    const ids = [first, second, backfill].map((r) => /job (\S+) \(/.exec(r.output)?.[1]);
    expect(new Set(ids).size).toBe(3);
  });

  it("noop validates files, binary and connections and touches nothing", async () => {
    await missionsToPostgres("noop");
    const ok = await cli(["noop"]);
    expect(ok.status.code).toBe(0);
    expect(ok.output).toMatch(/sling: .*sling \(version 1\.4\.11\)/);
    expect(ok.output).toMatch(/^connections: .*COMMAND.*MISSION_ALPHA.*MISSION_BRAVO/m);
    expect(ok.output).toMatch(/noop: 2 pipeline\(s\) ready; nothing was synced/);
    expect(await pg.query("select count(*) from information_schema.tables where table_schema = 'noop'")).toBe(
      "0",
    );
    expect(fs.existsSync(path.join(dir, "sling_state.json"))).toBe(false);

    // SYNC_MODE=noop through `run` is the same; a missing connection is named with its file.
    const missing = await cli(["run"], { SYNC_MODE: "noop", MISSION_BRAVO: "" });
    expect(missing.status.code).toBe(1);
    expect(missing.output).toContain(
      `${path.join(dir, "pipelines", "mission-bravo.yaml")}: connection "MISSION_BRAVO" is not defined`,
    );

    const noBinary = await cli(["noop"], { SLING_BIN: path.join(dir, "no-sling") });
    expect(noBinary.status.code).toBe(1);
    expect(noBinary.output).toMatch(/SLING_BIN: .*no-sling is not an executable file/);
  });

  it("SQLite mission → local CSV files", async () => {
    await addMissionRows(SLING, env, path.join(dir, "alpha.db"), 1, 75);
    const out = path.join(dir, "out");
    const file = path.join(dir, "to-files.yml");
    writeReplication(file, {
      source: "MISSION",
      target: "LOCAL",
      stream: "main.telemetry",
      object: `file://${out}/{stream_table}.csv`,
      mode: "full-refresh",
    });
    const run = await cli(["run", "--config", file], { MISSION: `sqlite://${path.join(dir, "alpha.db")}` });
    expect(run.status.code).toBe(0);
    expect(resultTable(run.output)).toEqual({ "to-files": ["succeeded", 1, 75] });
    const csv = fs.readFileSync(path.join(out, "telemetry.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("id,ts,sensor,value");
    expect(csv).toHaveLength(76);
  });

  it("retries a failing pipeline with exponential backoff, reports it failed (exit 1), and runs the next", async () => {
    await addMissionRows(SLING, env, path.join(dir, "alpha.db"), 1, 10);
    const pipelines = path.join(dir, "pipelines");
    writeReplication(path.join(pipelines, "10-broken.yaml"), {
      source: "MISSION",
      target: "COMMAND",
      stream: "main.no_such_table",
      object: "main.broken",
    });
    writeReplication(path.join(pipelines, "20-good.yaml"), {
      source: "MISSION",
      target: "COMMAND",
      stream: "main.telemetry",
      object: "main.good",
    });
    const run = await cli(
      ["run", "--pipeline-dir", pipelines, "--max-retries", "2", "--backoff-base", "400ms"],
      {
        MISSION: `sqlite://${path.join(dir, "alpha.db")}`,
        COMMAND: `sqlite://${path.join(dir, "command.db")}`,
      },
    );
    expect(run.status.code).toBe(1);
    expect(resultTable(run.output)).toEqual({
      "10-broken": ["failed", 3, 0],
      "20-good": ["succeeded", 1, 10],
    });
    expect(run.output).toMatch(
      /SLING_PIPELINE_FAILED: pipeline 10-broken \(.*10-broken.yaml\) failed after 3 attempt\(s\): /,
    );

    const logs = logLines(run.output);
    const starts = logs.filter((l) => l.pipeline === "10-broken" && /: attempt \d\/3$/.test(String(l.msg)));
    expect(starts.map((l) => l.attempt)).toEqual([1, 2, 3]);
    const t = starts.map((l) => Date.parse(String(l.time)));
    expect(t[1] - t[0]).toBeGreaterThanOrEqual(400);
    expect(t[2] - t[1]).toBeGreaterThanOrEqual(800); // doubled
    expect(logs.filter((l) => l.backoff_ms !== undefined).map((l) => l.backoff_ms)).toEqual([400, 800]);
    // Sling's own error reached the logs at error level, with the trace ids.
    expect(
      logs.some((l) => l.pipeline === "10-broken" && l.level === 50 && typeof l.trace_id === "string"),
    ).toBe(true);
  });

  it("kills a hung Sling (its whole process group) at SLING_TIMEOUT, counting the attempt as failed", async () => {
    const pids = path.join(dir, "pids");
    const fake = path.join(dir, "hung-sling");
    // Prints a line, records what it saw of SLING_TIMEOUT, then waits on a grandchild in its group.
    fs.writeFileSync(
      fake,
      `#!/bin/sh\necho '{"lvl":"info","msg":"hanging"}'\necho "timeout=\${SLING_TIMEOUT-unset} logging=\${SLING_LOGGING}" > ${dir}/env-seen\nsleep 300 &\necho $! >> ${pids}\nwait\n`,
      { mode: 0o755 },
    );
    writeReplication(path.join(dir, "p.yaml"), { source: "A", target: "B", stream: "t", object: "t" });
    const started = Date.now();
    const run = await cli(["run", "--config", path.join(dir, "p.yaml"), "--max-retries", "1"], {
      SLING_BIN: fake,
      SLING_TIMEOUT: "1s",
    });
    const elapsed = Date.now() - started;
    expect(run.status.code).toBe(1);
    expect(resultTable(run.output)).toEqual({ p: ["failed", 2, 0] });
    expect(run.output).toMatch(
      /SLING_TIMEOUT: pipeline p .* failed after 2 attempt\(s\): killed after SLING_TIMEOUT \(1s\)/,
    );
    expect(elapsed).toBeLessThan(20_000);
    const sleepers = fs.readFileSync(pids, "utf8").trim().split("\n").map(Number);
    expect(sleepers).toHaveLength(2);
    for (const pid of sleepers) expect(pidAlive(pid)).toBe(false);
    expect(fs.readFileSync(path.join(dir, "env-seen"), "utf8").trim()).toBe("timeout=unset logging=JSON");
  });

  it("SIGTERM kills the running Sling and exits", async () => {
    const pids = path.join(dir, "pids");
    const fake = path.join(dir, "hung-sling");
    fs.writeFileSync(
      fake,
      `#!/bin/sh\nsleep 300 &\necho $! >> ${pids}\necho '{"lvl":"info","msg":"hanging"}'\nwait\n`,
      {
        mode: 0o755,
      },
    );
    writeReplication(path.join(dir, "p.yaml"), { source: "A", target: "B", stream: "t", object: "t" });
    const p = startCli(["run", "--config", path.join(dir, "p.yaml")], {
      SLING_BIN: fake,
      SLING_TIMEOUT: "10m",
    });
    await p.waitForOutput(/"msg":"hanging"/, 20_000);
    p.kill("SIGTERM");
    const status = await p.exited;
    expect(status).toEqual({ code: 143, signal: null });
    expect(resultTable(p.output())).toEqual({ p: ["cancelled", 1, 0] });
    const sleeper = Number(fs.readFileSync(pids, "utf8").trim());
    expect(pidAlive(sleeper)).toBe(false);
  });

  it("refuses SLING_CONFIG with PIPELINE_DIR, and an empty PIPELINE_DIR (exit 2)", async () => {
    fs.mkdirSync(path.join(dir, "empty"));
    writeReplication(path.join(dir, "one.yaml"), { source: "A", target: "B", stream: "t", object: "t" });
    const both = await cli(["run"], {
      SLING_CONFIG: path.join(dir, "one.yaml"),
      PIPELINE_DIR: path.join(dir, "empty"),
    });
    expect(both.status.code).toBe(2);
    expect(both.output).toMatch(
      /SLING_CONFIG \/ --config \(".*one.yaml"\) and PIPELINE_DIR \/ --pipeline-dir .* are both set/,
    );

    const empty = await cli(["run", "--pipeline-dir", path.join(dir, "empty")]);
    expect(empty.status.code).toBe(2);
    expect(empty.output).toMatch(
      /PIPELINE_DIR: .*empty has no Sling replication files \(\*\.yaml, \*\.yml\)/,
    );
  });

  it("backfill refuses to delete / or . as its state (exit 2)", async () => {
    writeReplication(path.join(dir, "one.yaml"), { source: "A", target: "B", stream: "t", object: "t" });
    const root = await cli(["backfill", "--config", path.join(dir, "one.yaml")], { SLING_STATE: "file:///" });
    expect(root.status.code).toBe(2);
    expect(root.output).toMatch(
      /SLING_STATE file:\/\/\/: backfill refuses to delete it: "\/" is the filesystem root/,
    );
    const dot = await cli(["backfill", "--config", path.join(dir, "one.yaml"), "--state", "file://."]);
    expect(dot.status.code).toBe(2);
    expect(dot.output).toMatch(/backfill refuses to delete it: "\." is the working directory/);
  });
});
