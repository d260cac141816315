/**
 * One run of the Sling CLI as a child process:
 *
 *   spawn `sling run -r <file> [-m full-refresh]`  (own process group, sanitised env, SLING_LOGGING=JSON)
 *     stdout/stderr ──lines──▶ parseSlingLine ──▶ onLine (span events, JSON logs) + SlingRunSummary
 *     deadline (SLING_TIMEOUT) or abort (SIGTERM) ──▶ SIGTERM to the group, SIGKILL after a grace period
 *   exit ──▶ AttemptOutcome { ok, rows, exitCode, signal, timedOut, aborted, error }
 *
 * The whole process group is killed because Sling may start helpers of its own, and a helper holding
 * the pipes open would keep a "killed" run alive.
 */
import { spawn } from "node:child_process";
import * as readline from "node:readline";
import { formatDuration } from "./duration";
import { parseSlingLine, SlingRunSummary, type SlingLogLine, type SlingStream } from "./sling-output";

/** Wrapper settings that must not reach Sling: it reads SLING_TIMEOUT as minutes ("30m" breaks it), and
 * SLING_STATE as a Sling Pro state location (`CONN/path`), not the wrapper's file:// state file. */
export const WRAPPER_ONLY_ENV = ["SLING_TIMEOUT", "SLING_STATE"] as const;

/** The environment Sling runs with: the job's environment minus wrapper-only settings, JSON logs on. */
export function slingChildEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const child: NodeJS.ProcessEnv = { ...env, SLING_LOGGING: "JSON" };
  for (const key of WRAPPER_ONLY_ENV) delete child[key];
  // A CronJob every 5 minutes should not phone home every 5 minutes; an explicit setting still wins.
  if (child.SLING_DISABLE_TELEMETRY === undefined) child.SLING_DISABLE_TELEMETRY = "true";
  return child;
}

export interface SlingRunRequest {
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Aborting kills the run (the CLI aborts on SIGTERM/SIGINT). */
  signal?: AbortSignal;
  /** Data for Sling's stdin (the Sink); stdin is closed at once when absent. */
  stdin?: string | Buffer;
  onLine?: (line: SlingLogLine) => void;
  /** Time between SIGTERM and SIGKILL when the run is killed. */
  killGraceMs?: number;
  cwd?: string;
}

export interface AttemptOutcome {
  ok: boolean;
  rows: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** Why it failed, in words (Sling's own error when it printed one). */
  error?: string;
}

export function replicationArgs(file: string, fullRefresh: boolean): string[] {
  return ["run", "-r", file, ...(fullRefresh ? ["-m", "full-refresh"] : [])];
}

export function runSling(req: SlingRunRequest): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    const summary = new SlingRunSummary();
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let spawnError: Error | undefined;
    const child = spawn(req.bin, req.args, {
      env: req.env,
      cwd: req.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // its own process group, so kill(-pid) reaches every process Sling started
    });

    const killGroup = (why: "timeout" | "abort"): void => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      if (why === "timeout") timedOut = true;
      else aborted = true;
      const pid = child.pid;
      const send = (sig: NodeJS.Signals): void => {
        try {
          process.kill(-pid, sig);
        } catch {
          // ESRCH: the group is already gone, which is what we want.
        }
      };
      send("SIGTERM");
      killTimer ??= setTimeout(() => send("SIGKILL"), req.killGraceMs ?? 5000);
    };
    const deadline = setTimeout(() => killGroup("timeout"), req.timeoutMs);
    const onAbort = (): void => killGroup("abort");
    if (req.signal?.aborted) queueMicrotask(onAbort);
    req.signal?.addEventListener("abort", onAbort, { once: true });

    const read = (stream: NodeJS.ReadableStream, name: SlingStream): Promise<void> =>
      new Promise((done) => {
        const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
        rl.on("line", (raw) => {
          const line = parseSlingLine(raw, name);
          if (!line) return;
          summary.add(line);
          req.onLine?.(line);
        });
        rl.on("close", done);
      });
    const reading = Promise.all([read(child.stdout, "stdout"), read(child.stderr, "stderr")]);

    child.stdin.on("error", () => {
      // EPIPE: Sling exited before reading all of stdin; its exit status says what went wrong.
    });
    if (req.stdin !== undefined) child.stdin.end(req.stdin);
    else child.stdin.end();

    child.on("error", (err) => {
      spawnError = err;
    });
    child.on("close", (code, sig) => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      req.signal?.removeEventListener("abort", onAbort);
      void reading.then(() => {
        const ok =
          !timedOut && !aborted && spawnError === undefined && code === 0 && summary.outcome !== "failed";
        const outcome: AttemptOutcome = {
          ok,
          rows: summary.rows,
          exitCode: code,
          signal: sig,
          timedOut,
          aborted,
        };
        if (!ok) outcome.error = describeFailure(req, outcome, summary, spawnError);
        resolve(outcome);
      });
    });
  });
}

function describeFailure(
  req: SlingRunRequest,
  o: AttemptOutcome,
  summary: SlingRunSummary,
  spawnError: Error | undefined,
): string {
  if (spawnError) return `could not start ${req.bin}: ${spawnError.message}`;
  if (o.timedOut) return `killed after SLING_TIMEOUT (${formatDuration(req.timeoutMs)})`;
  if (o.aborted) return "killed: the job was stopped (SIGTERM/SIGINT)";
  const sling = summary.errorText();
  const status = o.signal !== null ? `killed by ${o.signal}` : `exit ${o.exitCode}`;
  if (o.exitCode === 0 && summary.outcome === "failed")
    return `sling reported "execution failed"${sling ? `: ${sling}` : ""}`;
  return `sling failed (${status})${sling ? `: ${sling}` : ""}`;
}
