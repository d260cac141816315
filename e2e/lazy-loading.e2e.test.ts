/**
 * What the compiled processes load (dist/, as bin/conveyor runs them): `conveyor --help` loads no
 * command, `conveyor validate` no gRPC server or heavy client, and a running sidecar with no
 * built-in placed on it loads neither kafkajs, the AWS SDK nor an OpenTelemetry exporter.
 * A preload (node --require) writes the keys of require.cache to a file when the process exits.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalCluster } from "../src/cluster/local-cluster";
import { CONVEYOR_MAIN, REPO_ROOT } from "../src/cluster/managed-process";
import { freePortBlock } from "./harness/ports";

jest.setTimeout(60_000);

const run = promisify(execFile);
/**
 * Packages a process should load only once something that needs them is used: a built-in (Kafka, S3,
 * Parquet and the Kafka codecs), tracing (the OTel SDK and its gRPC instrumentation), the router cluster
 * (etcd), the tests' tools; lodash and google-protobuf came with the old reflection client.
 */
const HEAVY =
  /node_modules\/(kafkajs|@aws-sdk|@smithy|@opentelemetry\/(exporter|sdk-trace|otlp|instrumentation)|parquet-wasm|apache-arrow|snappy|lz4-napi|fzstd|etcd3|cockatiel|lodash\/|google-protobuf|playwright-core|esbuild)/;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-lazy-"));
const preload = path.join(dir, "dump-require-cache.js");
fs.writeFileSync(
  preload,
  `process.on("exit", () => require("fs").writeFileSync(process.env.DUMP_TO, JSON.stringify(Object.keys(require.cache))));`,
);

/** The node_modules packages among the files a process had loaded when it exited. */
function packages(dumpFile: string): string[] {
  const files = JSON.parse(fs.readFileSync(dumpFile, "utf8")) as string[];
  const names = files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter((n) => n);
  return [...new Set(names as string[])].sort();
}

async function cli(name: string, ...args: string[]): Promise<string[]> {
  const dump = path.join(dir, `${name}.json`);
  await run(process.execPath, ["--require", preload, CONVEYOR_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DUMP_TO: dump },
  });
  return packages(dump);
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("lazy loading (compiled)", () => {
  it("conveyor --help loads commander and the logger only", async () => {
    const loaded = await cli("help", "--help");
    expect(loaded).toContain("commander");
    expect(loaded.filter((p) => p.startsWith("@grpc/") || HEAVY.test(`node_modules/${p}/`))).toEqual([]);
  });

  it("conveyor validate loads no Kafka client, AWS SDK, OpenTelemetry exporter or reflection", async () => {
    const loaded = await cli("validate", "validate", path.join(REPO_ROOT, "examples", "pipelines"));
    expect(loaded).toContain("ajv");
    expect(loaded.filter((p) => HEAVY.test(`node_modules/${p}/`) || p.includes("reflection"))).toEqual([]);
  });

  it("a running sidecar with no built-in placed loads no heavy dependency and no config parser", async () => {
    const [host, pod] = ["127.0.14.1", "127.0.14.2"];
    const base = await freePortBlock([host, pod], 6);
    const dump = path.join(dir, "sidecar.json");
    // Only the sidecar dumps what it loaded (the router would write the same file when it exits).
    const cluster = new LocalCluster(dir);
    try {
      await cluster.startRouter({ host, port: base });
      const { process: sidecar } = await cluster.startSidecar({
        id: "lazy",
        host: pod,
        port: base + 1,
        router: `${host}:${base}`,
        discoveryStartPort: base + 2,
        discoveryEndPort: base + 3,
        env: { NODE_OPTIONS: `--require ${preload}`, DUMP_TO: dump },
      });
      await sidecar.waitForOutput(/registered with the router/, 15_000);
      await sidecar.stop();
    } finally {
      await cluster.stopAll();
    }
    const loaded = packages(dump);
    expect(loaded).toContain("@grpc/grpc-js");
    expect(loaded.filter((p) => HEAVY.test(`node_modules/${p}/`))).toEqual([]);
    // The config parsers (135 modules) load only when a built-in's config is checked.
    expect(loaded.filter((p) => p === "ajv" || p === "yaml")).toEqual([]);
  });
});
