/**
 * grpcurl, the real binary (installed by scripts/setup.sh), against a running
 * sidecar: list and describe by reflection, health, GetRoutes, Inject (good
 * and invalid JSON), ListLocalServices.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalCluster } from "../src/cluster/local-cluster";
import { toolPath } from "../src/testing/tools";
import { freePortBlock } from "./harness/ports";
import { adminClient, applyPipeline, eventually, readSinkFile } from "./harness/pipeline";

jest.setTimeout(120_000);

const run = promisify(execFile);
const ROUTER_HOST = "127.0.12.1";
const POD_A = "127.0.12.2";
const POD_B = "127.0.12.3";

async function grpcurl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(toolPath("grpcurl"), ["-plaintext", "-max-time", "10", ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe("grpcurl against a running sidecar", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-grpcurl-"));
  const cluster = new LocalCluster(dir);
  let sidecar = "";

  beforeAll(async () => {
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    const router = `${ROUTER_HOST}:${base}`;
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    // The source produces nothing (count 0): every record in the sink came through Inject.
    await cluster.startStage({ kind: "source", name: "gen", host: POD_A, port: base + 2, count: 0 });
    await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: base + 2 });
    await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 3, dir });
    await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, ...discovery });
    await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });
    const admin = adminClient(router);
    await applyPipeline(
      admin,
      "name: demo\nsource: { stage: gen }\nsteps: [ { stage: enrich } ]\nsink: { stage: out }\n",
    );
    admin.close();
    sidecar = `${POD_A}:${base + 1}`;
    await eventually(
      async () =>
        (await grpcurl("-d", "{}", sidecar, "conveyor.v1.DataPlane/GetRoutes")).stdout.includes('"out"'),
      15_000,
      () => "sidecar a never received the routes of pipeline demo",
    );
  });

  afterAll(async () => {
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("lists and describes services by reflection", async () => {
    const list = await grpcurl(sidecar, "list");
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")).toEqual(
      expect.arrayContaining(["conveyor.v1.DataPlane", "grpc.health.v1.Health"]),
    );
    const describe = await grpcurl(sidecar, "describe", "conveyor.v1.DataPlane");
    expect(describe.stdout).toContain(
      "rpc Inject ( .conveyor.v1.InjectRequest ) returns ( .conveyor.v1.InjectResponse )",
    );
    // Map fields must survive reflection (protobufjs names map entries in a way grpcurl rejects; we fix it).
    const record = await grpcurl(sidecar, "describe", "conveyor.v1.Record");
    expect(record.stdout).toContain("map<string, string> headers = 4;");
  });

  it("answers the health check", async () => {
    const health = await grpcurl(sidecar, "grpc.health.v1.Health/Check");
    expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" });
  });

  it("returns the routing table from GetRoutes", async () => {
    const res = await grpcurl("-d", "{}", sidecar, "conveyor.v1.DataPlane/GetRoutes");
    const table = JSON.parse(res.stdout) as {
      pipelines: Array<{ pipeline: string; stages: Array<{ name: string }> }>;
    };
    const demo = table.pipelines.find((p) => p.pipeline === "demo");
    expect(demo?.stages.map((s) => s.name)).toEqual(["gen", "enrich", "out"]);
  });

  it("injects records that cross the peer hop to the sink", async () => {
    const body = JSON.stringify({
      pipeline: "demo",
      records: [
        { id: "inj-1", key: "k", valueJson: '{"hello":"world"}' },
        { id: "inj-2", valueJson: "[1,2,3]" },
      ],
    });
    const res = await grpcurl("-d", body, sidecar, "conveyor.v1.DataPlane/Inject");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ delivered: 2, ids: ["inj-1", "inj-2"] });
    const lines = readSinkFile(path.join(dir, "out.ndjson"));
    expect(lines.find((l) => l.id === "inj-1")?.value).toBe('{"enriched":true,"hello":"world"}');
    expect(lines.find((l) => l.id === "inj-2")?.value).toBe('{"enriched":true,"value":[1,2,3]}');
  });

  it("injects a value that is not JSON as its bytes (InjectRecord.value, base64 in grpcurl's JSON)", async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x7b]);
    const body = JSON.stringify({
      pipeline: "demo",
      stage: "out",
      records: [{ id: "bin-1", value: bytes.toString("base64"), headers: { h: "1" } }],
    });
    const res = await grpcurl("-d", body, sidecar, "conveyor.v1.DataPlane/Inject");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ delivered: 1, ids: ["bin-1"] });
    const line = readSinkFile(path.join(dir, "out.ndjson")).find((l) => l.id === "bin-1");
    expect(line).toMatchObject({ valueBase64: bytes.toString("base64"), headers: { h: "1" } });
  });

  it("rejects an Inject with invalid JSON, naming the record, and delivers nothing", async () => {
    const body = JSON.stringify({
      pipeline: "demo",
      records: [
        { id: "ok-1", valueJson: "{}" },
        { id: "bad-1", valueJson: "{nope" },
      ],
    });
    const res = await grpcurl("-d", body, sidecar, "conveyor.v1.DataPlane/Inject");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("InvalidArgument");
    expect(res.stderr).toContain("bad-1");
    const ids = readSinkFile(path.join(dir, "out.ndjson")).map((l) => l.id);
    expect(ids).not.toContain("ok-1");
  });

  it("rejects an Inject into an unknown pipeline", async () => {
    const res = await grpcurl(
      "-d",
      '{"pipeline":"nope","records":[{"valueJson":"{}"}]}',
      sidecar,
      "conveyor.v1.DataPlane/Inject",
    );
    expect(res.stderr).toContain("NotFound");
  });

  it("lists the local services found by discovery", async () => {
    const res = await grpcurl("-d", "{}", sidecar, "conveyor.v1.DataPlane/ListLocalServices");
    const body = JSON.parse(res.stdout) as { services: Array<{ stage_name: string; kind: string }> };
    expect(body.services).toEqual([
      expect.objectContaining({ stage_name: "gen", kind: "STAGE_KIND_SOURCE" }),
    ]);
  });
});
