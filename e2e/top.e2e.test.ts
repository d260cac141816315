/**
 * `conveyor top` in a real terminal: tmux runs the compiled CLI against a router with a flowing
 * pipeline (generator → file sink); capture-pane shows the stages with non-zero rates, a sort key
 * re-sorts, and `q` quits (the tmux session ends with the process).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { CONVEYOR_MAIN } from "../src/cluster/managed-process";
import { freePortBlock } from "./harness/ports";
import { eventually } from "./harness/pipeline";

jest.setTimeout(60_000);

const ROUTER_HOST = "127.0.42.1";
const POD = "127.0.42.2";
const hasTmux = ((): boolean => {
  try {
    execFileSync("tmux", ["-V"]);
    return true;
  } catch {
    return false;
  }
})();

(hasTmux ? describe : describe.skip)("conveyor top", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-top-"));
  const cluster = new LocalCluster(dir);
  const socket = `conveyor-top-${process.pid}`;
  const tmux = (...args: string[]): string =>
    execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const running = (): boolean => {
    try {
      execFileSync("tmux", ["-L", socket, "has-session", "-t", "top"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  let router = "";

  beforeAll(async () => {
    const base = await freePortBlock([ROUTER_HOST, POD], 8);
    const pipelines = path.join(dir, "pipelines");
    fs.mkdirSync(pipelines);
    fs.writeFileSync(
      path.join(pipelines, "flow.yaml"),
      `name: flow\nsource: { stage: gen }\nsink: { builtin: file, config: { dir: ${path.join(dir, "out")} } }\n`,
    );
    await cluster.startRouter({
      host: ROUTER_HOST,
      port: base,
      heartbeatIntervalSecs: 0.5,
      pipelinesDir: pipelines,
    });
    router = `${ROUTER_HOST}:${base}`;
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD,
      port: base + 2,
      count: 1_000_000,
      rate: 300,
    });
    await cluster.startSidecar({
      id: "a",
      host: POD,
      port: base + 1,
      router,
      heartbeatIntervalSecs: 0.5,
      discoveryStartPort: base + 2,
      discoveryEndPort: base + 7,
    });
  });

  afterAll(async () => {
    if (running()) tmux("kill-server");
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("shows the stages with non-zero rates, sorts on a key, and quits on q", async () => {
    tmux(
      "new-session",
      "-d",
      "-s",
      "top",
      "-x",
      "160",
      "-y",
      "30",
      `${process.execPath} ${CONVEYOR_MAIN} top --router ${router} --interval 0.5`,
    );
    const screen = (): string => tmux("capture-pane", "-p", "-t", "top");
    const rateOf = (stage: string): number => {
      const row = screen()
        .split("\n")
        .find((l) => new RegExp(`^flow\\s+${stage}\\s`).test(l));
      return row ? parseFloat(row.trim().split(/\s+/)[3] ?? "0") : 0;
    };
    await eventually(
      () => rateOf("gen") > 50 && rateOf("file") > 50,
      20_000,
      () => `no non-zero rates on the screen:\n${screen()}`,
    );
    expect(screen()).toMatch(/PIPELINE\s+STAGE\s+KIND\s+IN\/S\s+OUT\/S/);
    expect(screen()).toContain("sort: name");
    process.stdout.write(`conveyor top under tmux:\n${screen()}\n`);
    tmux("send-keys", "-t", "top", "i");
    await eventually(
      () => screen().includes("sort: in"),
      5_000,
      () => screen(),
    );
    tmux("send-keys", "-t", "top", "q");
    await eventually(
      () => !running(),
      5_000,
      () => `top still runs after q:\n${screen()}`,
    );
  });
});
