/**
 * A private PostgreSQL server for tests: Debian's binaries (/usr/lib/postgresql/<version>/bin, installed
 * by scripts/setup.sh), a fresh data directory in a temp dir, a free 127.0.0.1 port, no Unix socket,
 * trust authentication for the `conveyor` superuser. PostgreSQL refuses to run as root, so when the
 * tests run as root the server runs as `nobody` (setpriv) with the temp dir chowned to it.
 *
 *   const pg = await startPostgres();
 *   env.COMMAND = pg.url();            // postgresql://conveyor@127.0.0.1:PORT/postgres?sslmode=disable
 *   await pg.query("select count(*) from t");
 *   await pg.stop();                   // fast shutdown, temp dir removed
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManagedProcess } from "../cluster/managed-process";
import { freePort } from "./kafka-broker";

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ManagedProcess;
  /** Connection URL for Sling / any client, database `postgres` unless given. */
  url(database?: string): string;
  /** Runs SQL through psql; returns its unaligned, tuples-only output (rows as `a|b` lines). */
  query(sql: string, database?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  host?: string;
  startTimeoutMs?: number;
}

const USER = "conveyor";

/** The bin directory of the newest installed PostgreSQL; throws naming what to install. */
export function postgresBinDir(root = "/usr/lib/postgresql"): string {
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(`PostgreSQL is not installed (no ${root}/*/bin/initdb): run scripts/setup.sh`);
  }
  return path.join(root, versions[0], "bin");
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, cwd: os.tmpdir() }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** As root, the command wrapped to run as nobody:nogroup; otherwise unchanged. */
function unprivileged(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  return ["setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", cmd, ...args]];
}

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const host = options.host ?? "127.0.0.1";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-pg-"));
  const data = path.join(dir, "data");
  if (process.getuid?.() === 0) {
    fs.chmodSync(dir, 0o700);
    fs.chownSync(dir, 65534, 65534); // nobody:nogroup on Debian
  }
  try {
    await run(
      ...unprivileged(path.join(bin, "initdb"), [
        "-D",
        data,
        "-U",
        USER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
      ]),
      60_000,
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort(host);
  const [cmd, args] = unprivileged(path.join(bin, "postgres"), [
    "-D",
    data,
    "-h",
    host,
    "-p",
    String(port),
    "-c",
    "unix_socket_directories=",
    // A test database: durability off for speed (nothing here must survive a crash).
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=40",
  ]);
  const proc = new ManagedProcess(`postgres:${port}`, cmd, args, {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
  });
  try {
    await proc.waitForOutput(
      /database system is ready to accept connections/,
      options.startTimeoutMs ?? 30_000,
    );
  } catch (err) {
    await proc.stop(2000);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const psql = path.join(bin, "psql");
  let stopped = false;
  return {
    host,
    port,
    dir,
    process: proc,
    url: (database = "postgres") => `postgresql://${USER}@${host}:${port}/${database}?sslmode=disable`,
    query: (sql, database = "postgres") =>
      run(
        psql,
        [
          "-h",
          host,
          "-p",
          String(port),
          "-U",
          USER,
          "-d",
          database,
          "-v",
          "ON_ERROR_STOP=1",
          "-At",
          "-c",
          sql,
        ],
        30_000,
      ).then((out) => out.trim()),
    async stop() {
      if (stopped) return;
      stopped = true;
      proc.kill("SIGINT"); // fast shutdown: disconnect clients, checkpoint, exit
      const timer = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
      await Promise.race([proc.exited, timer]);
      await proc.stop(1000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
