/**
 * `conveyor sling quickstart`: a first run a new user can watch, with nothing but the Sling binary.
 *   1. two mission SQLite databases (alpha, bravo) created and filled through `sling conns exec`;
 *   2. one replication file per mission (incremental on id) in <dir>/pipelines;
 *   3. a normal job → every row lands in the command database (SQLite, or PostgreSQL if given);
 *   4. new rows in mission alpha, a second job → only those rows move (incremental);
 * printing each step and the row counts read back from the command database.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Writable } from "node:stream";
import { ConveyorError } from "../../errors";
import { createLogger } from "../../telemetry/log";
import { resolveSlingConfig } from "./job-config";
import { executeSlingJob } from "./job";
import { resolveSlingBinary } from "./sling-binary";
import { slingChildEnv } from "./sling-process";

export interface QuickstartOptions {
  dir: string;
  postgresUrl?: string;
  slingBin: string;
  out: Writable;
  err: Writable;
  env: NodeJS.ProcessEnv;
}

export const MISSIONS = [
  { name: "alpha", rows: 120, sensors: ["temp", "pressure"] },
  { name: "bravo", rows: 80, sensors: ["temp", "humidity"] },
] as const;

const NEW_ALPHA_ROWS = 25;

/** SQL that creates a mission's telemetry table with `count` rows from id `first` (deterministic values). */
export function missionSql(
  sensors: readonly string[],
  first: number,
  count: number,
  create: boolean,
): string {
  const values: string[] = [];
  for (let id = first; id < first + count; id++) {
    const ts = new Date(Date.UTC(2025, 0, 1) + id * 60_000).toISOString();
    const sensor = sensors[id % sensors.length];
    values.push(`(${id}, '${ts}', '${sensor}', ${(20 + ((id * 7) % 50) / 10).toFixed(1)})`);
  }
  const table = create
    ? "create table if not exists telemetry (id integer primary key, ts text not null, sensor text not null, value real not null);\n"
    : "";
  return `${table}insert into telemetry (id, ts, sensor, value) values\n${values.join(",\n")};`;
}

export function replicationYaml(mission: string, schema: string): string {
  return [
    `# Mission ${mission} → command database, incremental on id (written by conveyor sling quickstart).`,
    `source: MISSION_${mission.toUpperCase()}`,
    "target: COMMAND",
    "defaults:",
    "  mode: incremental",
    "  primary_key: [id]",
    "  update_key: id",
    "streams:",
    "  main.telemetry:",
    `    object: ${schema}.${mission}_telemetry`,
    "",
  ].join("\n");
}

function slingExec(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`sling ${args.slice(0, 3).join(" ")} failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** Reads back `select count(*)` through `sling conns exec` (prints a one-cell box table). */
async function countRows(bin: string, env: NodeJS.ProcessEnv, conn: string, table: string): Promise<number> {
  const out = await slingExec(bin, ["conns", "exec", conn, `select count(*) as n from ${table}`], env);
  const m = /\|\s*(\d+)\s*\|/.exec(out);
  if (!m) throw new Error(`unexpected output counting ${table}: ${out}`);
  return Number(m[1]);
}

export async function runQuickstart(o: QuickstartOptions): Promise<number> {
  const say = (s: string): void => void o.out.write(`${s}\n`);
  let bin: string;
  try {
    bin = resolveSlingBinary(o.slingBin, o.env);
  } catch (err) {
    o.err.write(`conveyor sling quickstart: ${(err as Error).message}\n`);
    return 1;
  }
  const dir = path.resolve(o.dir);
  const pipelineDir = path.join(dir, "pipelines");
  fs.mkdirSync(pipelineDir, { recursive: true });
  const schema = o.postgresUrl !== undefined ? "public" : "main";
  const env: NodeJS.ProcessEnv = {
    ...o.env,
    COMMAND: o.postgresUrl ?? `sqlite://${path.join(dir, "command.db")}`,
    SLING_HOME_DIR: o.env.SLING_HOME_DIR ?? path.join(dir, ".sling"),
  };
  for (const m of MISSIONS)
    env[`MISSION_${m.name.toUpperCase()}`] = `sqlite://${path.join(dir, `mission-${m.name}.db`)}`;
  const childEnv = slingChildEnv(env);

  say(`quickstart in ${dir} with ${bin}`);
  for (const m of MISSIONS) {
    const db = path.join(dir, `mission-${m.name}.db`);
    fs.rmSync(db, { force: true });
    await slingExec(
      bin,
      ["conns", "exec", `MISSION_${m.name.toUpperCase()}`, missionSql(m.sensors, 1, m.rows, true)],
      childEnv,
    );
    fs.writeFileSync(path.join(pipelineDir, `mission-${m.name}.yaml`), replicationYaml(m.name, schema));
    say(
      `  created mission database ${db}: ${m.rows} telemetry rows; pipeline ${path.join(pipelineDir, `mission-${m.name}.yaml`)}`,
    );
  }
  say(
    `  command database: ${o.postgresUrl !== undefined ? "PostgreSQL (--postgres-url)" : path.join(dir, "command.db")}`,
  );

  const config = (): ReturnType<typeof resolveSlingConfig> =>
    resolveSlingConfig(
      {
        pipelineDir,
        state: `file://${path.join(dir, "sling_state.json")}`,
        slingBin: bin,
        maxRetries: "1",
        backoffBase: "1s",
      },
      env,
      "backfill",
    );
  const io = { out: o.out, err: o.err, log: createLogger("sling"), env };
  try {
    say("\n1) first sync (backfill: full refresh of every pipeline):");
    const first = await executeSlingJob(config(), io);
    if (first.exitCode !== 0) return first.exitCode;

    await slingExec(
      bin,
      [
        "conns",
        "exec",
        "MISSION_ALPHA",
        missionSql(MISSIONS[0].sensors, MISSIONS[0].rows + 1, NEW_ALPHA_ROWS, false),
      ],
      childEnv,
    );
    say(`\n2) ${NEW_ALPHA_ROWS} new rows in mission alpha; incremental sync (normal mode) moves only those:`);
    const second = await executeSlingJob({ ...config(), mode: "normal" }, io);
    if (second.exitCode !== 0) return second.exitCode;

    say("\ncommand database now holds:");
    for (const m of MISSIONS) {
      const n = await countRows(bin, childEnv, "COMMAND", `${schema}.${m.name}_telemetry`);
      say(`  ${schema}.${m.name}_telemetry: ${n} rows`);
    }
    say(
      `\nrun it yourself:\n  MISSION_ALPHA=${env.MISSION_ALPHA} MISSION_BRAVO=${env.MISSION_BRAVO} \\\n` +
        `  COMMAND=${o.postgresUrl !== undefined ? "<your url>" : env.COMMAND} PIPELINE_DIR=${pipelineDir} conveyor sling run`,
    );
    return 0;
  } catch (err) {
    o.err.write(
      `conveyor sling quickstart: ${err instanceof ConveyorError ? `${err.code}: ` : ""}${(err as Error).message}\n`,
    );
    return 1;
  }
}
