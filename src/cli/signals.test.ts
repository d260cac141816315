import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT, tsxRequire } from "../cluster/managed-process";
import { PARENT_PID_ENV } from "./signals";

/** Starts a sample stage process whose harness parent is `parentPid`; resolves with its exit and stderr. */
function runStage(parentPid: string, lifetimeMs: number): Promise<{ exited: boolean; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      "--require",
      tsxRequire(),
      path.join(REPO_ROOT, "src/demo/stage-process.ts"),
      "transform",
      "--name",
      "t",
      "--port",
      "0",
    ],
    {
      env: { ...process.env, [PARENT_PID_ENV]: parentPid, LOG_LEVEL: "silent" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ exited: false, stderr });
    }, lifetimeMs);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve({ exited: true, stderr });
    });
  });
}

describe("exitWithParent", () => {
  it("stops a harness child whose parent is gone (SIGTERM to itself, graceful path)", async () => {
    const r = await runStage("999999", 15_000);
    expect(r.exited).toBe(true);
    expect(r.stderr).toContain("parent process 999999 is gone; shutting down");
  }, 20_000);

  it("keeps a child running while its parent lives", async () => {
    const r = await runStage(String(process.pid), 4000);
    expect(r.exited).toBe(false);
  }, 10_000);
});
