/**
 * Dead-letter replay through real processes: a generator in pod A, a transform in pod B that fails
 * some records (e2e/stages/poison-transform.ts) until it is "fixed" (its --healed-when file appears),
 * built-in file sinks for the output and the dead letters. Once fixed, the compiled CLI's
 * `conveyor dlq replay` re-injects every dead letter at the stage that failed it through pod A's
 * sidecar (a peer hop to B): each reaches the sink once, with its id, the journal lists it, and a
 * second replay sends nothing.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalCluster } from "../src/cluster/local-cluster";
import { CONVEYOR_MAIN, REPO_ROOT } from "../src/cluster/managed-process";
import { AdminApi } from "../src/cli/admin-client";
import { freePortBlock } from "./harness/ports";
import { eventually, readSinkFile } from "./harness/pipeline";
import { poisonScenario, poisoned, startPoisonStages } from "./harness/poison-pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.17.1";
const POD_A = "127.0.17.2";
const POD_B = "127.0.17.3";
const COUNT = 200;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function conveyor(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CONVEYOR_MAIN, ...args], {
      cwd: REPO_ROOT,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("dlq replay", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-dlq-replay-"));
  const scenario = poisonScenario(dir);
  const { outDir, dlqDir, healed } = scenario;
  const cluster = new LocalCluster(dir);
  let base = 0;
  let api: AdminApi;

  beforeAll(async () => {
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    api = new AdminApi(`${ROUTER_HOST}:${base}`);
  });

  afterAll(async () => {
    api?.close();
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("replays each dead letter once at the failing stage, journals it, and a second replay sends nothing", async () => {
    await api.applyPipeline({ definition: scenario.definition });
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    await startPoisonStages(cluster, scenario, {
      podA: POD_A,
      podB: POD_B,
      port: base + 2,
      count: COUNT,
    });
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, ...discovery });
    await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });

    const dead = new Set<string>();
    const clean = new Set<string>();
    for (let i = 0; i < COUNT; i++) (poisoned(i) ? dead : clean).add(`gen-${i}`);
    const outFile = path.join(outDir, "checked-b.ndjson");
    const dlqFile = path.join(dlqDir, "checked-b.ndjson");
    const ids = (file: string): string[] => readSinkFile(file).map((l) => l.id);
    await eventually(
      () => new Set(ids(outFile)).size >= clean.size && new Set(ids(dlqFile)).size >= dead.size,
      90_000,
      () => `sink has ${ids(outFile).length} of ${clean.size}, dlq ${ids(dlqFile).length} of ${dead.size}`,
    );
    expect(new Set(ids(dlqFile))).toEqual(dead);

    // list: every dead letter, at stage check, none replayed yet.
    const list = await conveyor("dlq", "list", "--dir", dlqDir, "--json");
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Array<{ id: string; stage: string; replayed: boolean }>;
    expect(new Set(listed.map((d) => d.id))).toEqual(dead);
    expect(listed.every((d) => d.stage === "check" && !d.replayed)).toBe(true);

    const sidecar = `${POD_A}:${base + 1}`;
    const replay = (...args: string[]): Promise<CliResult> =>
      conveyor("dlq", "replay", "--dir", dlqDir, "--pipeline", "checked", "--sidecar", sidecar, ...args);

    // Replayed before the fix, gen-3 fails again: Inject confirms it (durable in the dead-letter sink), and
    // replay finds the new dead letter that names the one it came from and reports the record failed.
    const early = await replay("gen-3");
    expect(early.code).toBe(1);
    expect(early.stdout).toMatch(
      /failed +gen-3 at stage check: STAGE_FAILED: dead-lettered again \(.*\): record gen-3 is poisoned/,
    );
    const gen3 = readSinkFile(dlqFile).filter((l) => l.id === "gen-3");
    expect(gen3).toHaveLength(2);
    expect(gen3[1]!.headers._dlq_replayed_from).toBe(gen3[0]!.headers._dlq_ts);

    // The transform is fixed; replay everything through pod A's sidecar (a peer hop to pod B).
    fs.writeFileSync(healed, "");
    const dry = await replay("--all", "--dry-run");
    // Every dead letter but gen-3's first, which the journal lists; gen-3's second one instead.
    expect(dry.stdout).toContain(`${dead.size} to replay, 1 already replayed`);
    expect(ids(outFile).filter((id) => dead.has(id))).toEqual([]);

    const first = await replay("--all");
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain(`${dead.size} delivered, 0 failed`);

    // Each dead letter reached the sink once, through the fixed transform, with its id.
    const replayedLines = readSinkFile(outFile).filter((l) => dead.has(l.id));
    expect(replayedLines.map((l) => l.id).sort()).toEqual([...dead].sort());
    for (const l of replayedLines) {
      expect(l.headers.checked).toBe("true");
      expect(l.headers._dlq_stage).toBeUndefined();
      expect(Number.isNaN(Date.parse(l.headers._dlq_replayed_from ?? ""))).toBe(false);
    }
    const journal = fs
      .readFileSync(`${dlqFile}.replayed`, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(new Set(journal)).toEqual(dead);
    expect(journal).toHaveLength(dead.size + 1); // gen-3 twice: two dead letters

    // A second replay of the same selection sends nothing.
    const second = await replay("--all");
    expect(second).toMatchObject({ code: 0 });
    expect(second.stdout).toContain(`nothing to replay (${dead.size + 1} already replayed)`);
    await new Promise((r) => setTimeout(r, 500));
    expect(readSinkFile(outFile).filter((l) => dead.has(l.id))).toHaveLength(dead.size);

    // A value that is not UTF-8 (nor JSON) replays as its bytes.
    const bin = path.join(dir, "bin.ndjson");
    const template = readSinkFile(dlqFile)[0]!;
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x7b]);
    const { value: _text, ...rest } = template;
    fs.writeFileSync(
      bin,
      JSON.stringify({ ...rest, id: "bin-1", valueBase64: bytes.toString("base64") }) + "\n",
    );
    const binary = await conveyor(
      "dlq",
      "replay",
      "--all",
      "--file",
      bin,
      "--pipeline",
      "checked",
      "--sidecar",
      sidecar,
    );
    expect(binary).toMatchObject({ code: 0 });
    const binLine = readSinkFile(outFile).find((l) => l.id === "bin-1");
    expect(binLine?.valueBase64).toBe(bytes.toString("base64"));

    // Clear errors: an unknown stage is named, an unreachable sidecar is exit status 2.
    const one = [...dead][0]!;
    const unreachable = await conveyor(
      "dlq",
      "replay",
      one,
      "--again",
      "--dir",
      dlqDir,
      "--pipeline",
      "checked",
      "--sidecar",
      "127.0.0.1:1",
    );
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain("sidecar 127.0.0.1:1 is unreachable");
    const odd = path.join(dir, "odd.ndjson");
    const line = readSinkFile(dlqFile)[0]!;
    fs.writeFileSync(
      odd,
      `${JSON.stringify({ ...line, headers: { ...line.headers, _dlq_stage: "nope" } })}\n{oops\n`,
    );
    const unknown = await conveyor(
      "dlq",
      "replay",
      "--all",
      "--file",
      odd,
      "--pipeline",
      "checked",
      "--sidecar",
      sidecar,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`warning: ${odd}:2: skipped: not JSON`);
    expect(unknown.stderr).toContain('pipeline "checked" has no stage "nope"');
    const missing = await conveyor("dlq", "list", "--dir", path.join(dir, "nope"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("does not exist");
  });
});
