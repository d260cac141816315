/**
 * A child process with a name, its output kept (ring buffer + log file),
 * and stop() = SIGTERM then SIGKILL after a timeout. Every child is killed
 * if the parent exits, so tests and the demo never leak processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PARENT_PID_ENV } from "../cli/signals";
import { PROJECT_ROOT } from "../project-root";

export const REPO_ROOT = PROJECT_ROOT;
/** The compiled CLI (`npm run build`), as bin/conveyor and the images run it. */
export const CONVEYOR_MAIN = path.join(REPO_ROOT, "dist", "src", "cli", "main.js");

/** tsx's require hook, resolved only when a TypeScript script is run (tsx is a dev tool here). */
export function tsxRequire(): string {
  return require.resolve("tsx/cjs");
}

/** `src/demo/stage-process.ts` → `<root>/dist/src/demo/stage-process.js`, which must exist. */
export function compiledPath(script: string): string {
  const js = path.join(REPO_ROOT, "dist", script.replace(/\.ts$/, ".js"));
  if (!fs.existsSync(js))
    throw new Error(`${js} is missing: build first (npm run build, or bash scripts/build.sh --if-stale)`);
  return js;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  private tail = "";
  private readonly waiters: Array<{ re: RegExp; resolve(m: RegExpMatchArray): void }> = [];

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    logFile?: string,
    cwd: string = REPO_ROOT,
  ) {
    const log = logFile ? fs.createWriteStream(logFile, { flags: "a" }) : undefined;
    // Own process group: a Ctrl-C in the terminal reaches only the parent, which stops children in order.
    this.child = spawn(command, args, {
      env,
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    live.add(this.child);
    const onData = (chunk: Buffer): void => {
      log?.write(chunk);
      this.tail = (this.tail + chunk.toString("utf8")).slice(-256 * 1024);
      for (const w of [...this.waiters]) {
        const m = this.tail.match(w.re);
        if (m) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    };
    this.child.stdout!.on("data", onData);
    this.child.stderr!.on("data", onData);
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => {
        live.delete(this.child);
        log?.end();
        resolve({ code, signal });
      }),
    );
  }

  /** Runs the compiled `conveyor` CLI (dist/src/cli/main.js) with plain node, as users do. */
  static conveyor(name: string, args: string[], env: NodeJS.ProcessEnv, logFile?: string): ManagedProcess {
    return ManagedProcess.compiled(name, "src/cli/main.ts", args, env, logFile);
  }

  /** Runs the compiled JavaScript of one of this repo's entry points (named by its source path). */
  static compiled(
    name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    logFile?: string,
  ): ManagedProcess {
    return ManagedProcess.node(name, [compiledPath(script), ...args], env, logFile);
  }

  /**
   * Runs a TypeScript script through tsx's require hook, in one node process: for scripts that
   * are not part of the build (test stages under e2e/, bench drivers).
   */
  static typescript(
    name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    logFile?: string,
  ): ManagedProcess {
    return ManagedProcess.node(
      name,
      ["--require", tsxRequire(), path.join(REPO_ROOT, script), ...args],
      env,
      logFile,
    );
  }

  private static node(
    name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    logFile?: string,
  ): ManagedProcess {
    // Our own processes stop when this one dies, even by SIGKILL (src/cli/signals.ts exitWithParent).
    return new ManagedProcess(
      name,
      process.execPath,
      args,
      { ...env, [PARENT_PID_ENV]: String(process.pid) },
      logFile,
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.tail;
  }

  /** Resolves when the output matches `re`; rejects on timeout or exit. */
  waitForOutput(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const m = this.tail.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const waiter = {
        re,
        resolve: (match: RegExpMatchArray): void => {
          clearTimeout(timer);
          resolve(match);
        },
      };
      const fail = (why: string): void => {
        const i = this.waiters.indexOf(waiter);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        clearTimeout(timer);
        reject(new Error(`${this.name}: ${why} waiting for ${re}; last output:\n${this.tail.slice(-3000)}`));
      };
      this.waiters.push(waiter);
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      void this.exited.then((s) => fail(`exited (code ${s.code}, signal ${s.signal})`));
    });
  }

  /** SIGTERM, then SIGKILL if still running after timeoutMs. */
  async stop(timeoutMs = 15_000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.running) this.child.kill(signal);
  }
}
