/**
 * The exactly-once mirror into S3 (a real moto_server honouring
 * `If-None-Match: *`) from a real Kafka broker, through the real CLI as a child
 * process: kill -9 and restart, two writers on one prefix, the destination
 * unreachable for a while (a TCP proxy in front of moto that the test cuts),
 * and the /metrics output checked with promtool.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { ManagedProcess } from "../src/cluster/managed-process";
import { segmentName } from "../src/builtins/mirror/chain";
import { decodeSegment, type MirrorRecord } from "../src/builtins/mirror/record-line";
import { freePort } from "../src/testing/kafka-broker";
import { s3ClientConfig, startS3Server, type S3Server } from "../src/testing/s3-server";
import { toolPath } from "../src/testing/tools";
import { mirrorTestBed } from "./harness/mirror";
import { eventually } from "./harness/pipeline";

jest.setTimeout(90_000);

const BUCKET = "mirror";
const PREFIX = "archive";
const PROXY_HOST = "127.0.60.1";

/** A TCP proxy in front of moto that the test can cut (connections reset, port closed) and restore. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  get endpoint(): string {
    return `http://${PROXY_HOST}:${this.port}`;
  }

  up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, PROXY_HOST, () => resolve());
    });
  }

  down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

describe("mirror to S3 (real Kafka broker, real moto_server)", () => {
  const bed = mirrorTestBed("mirror-s3");
  const { dir } = bed;
  let s3server: S3Server;
  let s3: S3Client;
  const s3env = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1" };

  beforeAll(async () => {
    s3server = await startS3Server();
    s3 = new S3Client(s3ClientConfig(s3server.endpoint));
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  }, 90_000);

  afterAll(async () => {
    s3?.destroy();
    await s3server?.stop();
  });

  const createTopic = (topic: string): Promise<void> => bed.createTopics([topic]);

  const produce = (topic: string, from: number, count: number): Promise<void> =>
    bed.produce(topic, from, count);

  function writeConfig(
    name: string,
    mirror: { name: string; topic: string },
    flush: Record<string, number>,
    endpoint = "${S3_ENDPOINT}",
  ): string {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(
      file,
      [
        "destination:",
        "  type: s3",
        "  format: ndjson",
        `  bucket: ${BUCKET}`,
        `  prefix: ${PREFIX}/`,
        `  endpoint: "${endpoint}"`,
        "  region: us-east-1",
        `  flush: { ${Object.entries(flush)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")} }`,
        "mirrors:",
        `  - { name: ${mirror.name}, source: { bootstrap-servers: "${bed.broker.bootstrap}" }, topic: ${mirror.topic}, partition: 0 }`,
        "",
      ].join("\n"),
    );
    return file;
  }

  const startMirror = (config: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ManagedProcess =>
    bed.startMirror(config, { ...s3env, S3_ENDPOINT: s3server.endpoint, ...env }, args);

  const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    bed.cli(args, { ...s3env, S3_ENDPOINT: s3server.endpoint });

  async function keys(topic: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: `${PREFIX}/${topic}/0/`,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of page.Contents ?? []) out.push(o.Key!.slice(`${PREFIX}/${topic}/0/`.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async function records(topic: string): Promise<MirrorRecord[]> {
    const all: MirrorRecord[] = [];
    for (const name of await keys(topic)) {
      const got = await s3.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${topic}/0/${name}` }),
      );
      all.push(...decodeSegment(await got.Body!.transformToString()));
    }
    return all;
  }

  /** Every offset 0..count-1 exactly once, in order, with its own key and value. */
  async function expectExactly(topic: string, count: number): Promise<void> {
    const got = await records(topic);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: count }, (_, i) => i));
    for (const r of got) {
      expect(r.value?.toString()).toBe(`v-${r.offset}`);
      expect(r.key?.toString()).toBe(`k-${r.offset}`);
    }
  }

  const endsAt = async (topic: string, to: number): Promise<boolean> =>
    (await keys(topic)).at(-1)?.endsWith(`-${String(to).padStart(20, "0")}.ndjson`) === true;

  it("kill -9 mid-run, more records, restart: every offset exactly once across all objects; promtool-clean /metrics", async () => {
    await createTopic("crash");
    await produce("crash", 0, 3000);
    const config = writeConfig(
      "crash",
      { name: "crash", topic: "crash" },
      { "max-offsets": 40, "max-time-ms": 200 },
    );
    const first = startMirror(config);
    await eventually(
      async () => (await keys("crash")).length >= 10,
      40_000,
      () => first.output().slice(-3000),
    );
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect((await keys("crash")).length).toBeLessThan(Math.ceil(3000 / 40)); // really mid-run
    await produce("crash", 3000, 500);

    const metricsPort = await freePort();
    const second = startMirror(config, ["--metrics-port", String(metricsPort)]);
    await second.waitForOutput(/mirror starting: destination chain valid/, 30_000);
    await eventually(
      () => endsAt("crash", 3499),
      60_000,
      () => second.output().slice(-3000),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    await expectExactly("crash", 3500);
    expect(second.output()).toMatch(
      /"path":"s3:\/\/mirror\/archive\/crash\/0\/\d{20}-00000000000000003499\.ndjson","from":\d+,"to":3499,"count":\d+,"bytes":\d+,"elapsed_ms":\d+,"interval_ms":\d+,"trigger":"[a-z-]+"/,
    );

    expect(metrics).toMatch(/^conveyor_mirror_destination_next_offset\{topic="crash",partition="0"\} 3500$/m);
    expect(metrics).toMatch(/^conveyor_mirror_starts_total\{topic="crash",partition="0"\} 1$/m);
    // The mirror's metric families, as served, are promtool-clean.
    const promtool = (text: string): { status: number | null; output: string } => {
      const r = spawnSync(toolPath("promtool"), ["check", "metrics"], { input: text, encoding: "utf8" });
      return { status: r.status, output: `${r.stdout}${r.stderr}` };
    };
    const mirrorFamilies = metrics
      .split("\n")
      .filter((l) => /^(# (HELP|TYPE) )?conveyor_mirror_/.test(l))
      .join("\n");
    expect(mirrorFamilies).toContain("# TYPE conveyor_mirror_records_total counter");
    expect(promtool(`${mirrorFamilies}\n`)).toEqual({ status: 0, output: "" });
    // And the whole page, process metrics included.
    expect(promtool(metrics)).toEqual({ status: 0, output: "" });

    const status = await cli(["mirror", "status", "--config", config, "--json"]);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({ name: "crash", source_high: 3500, dest_next: 3500, lag: 0 }),
    ]);
  });

  it("two writers on one prefix: never two successes; the loser fails naming the key", async () => {
    await createTopic("two");
    await produce("two", 0, 100);
    const flush = { "max-offsets": 10, "max-time-ms": 600_000 };
    const a = startMirror(writeConfig("two-a", { name: "two-a", topic: "two" }, flush));
    await eventually(
      () => endsAt("two", 99),
      30_000,
      () => a.output().slice(-3000),
    );
    // Another config (another mirror name, so another consumer group) on the same topic and prefix.
    const b = startMirror(writeConfig("two-b", { name: "two-b", topic: "two" }, flush));
    await b.waitForOutput(/"next":100,[^\n]*"msg":"mirror starting: destination chain valid"/, 30_000);
    await produce("two", 100, 10); // both copy 100..109 and race for the same key

    const key = `s3://${BUCKET}/${PREFIX}/two/0/${segmentName(100, 109, "ndjson")}`;
    await eventually(
      () => !a.running || !b.running,
      30_000,
      () => `a: ${a.output().slice(-1500)}\nb: ${b.output().slice(-1500)}`,
    );
    const [loser, winner] = a.running ? [b, a] : [a, b];
    expect(await loser.exited).toEqual({ code: 1, signal: null });
    expect(loser.output()).toContain("MIRROR_DESTINATION_CHANGED");
    expect(loser.output()).toContain(key);
    expect(await winner.stop()).toEqual({ code: 0, signal: null });
    await expectExactly("two", 110);
  });

  it("destination unreachable past the retry budget: exit 1 naming it; once reachable, a restart completes", async () => {
    await createTopic("down");
    await produce("down", 0, 200);
    const proxy = new CuttableProxy(await freePort(PROXY_HOST), {
      host: "127.0.0.1",
      port: Number(new URL(s3server.endpoint).port),
    });
    await proxy.up();
    try {
      const config = writeConfig(
        "down",
        { name: "down", topic: "down" },
        { "max-offsets": 50, "max-time-ms": 200 },
        proxy.endpoint,
      );
      const first = startMirror(config, ["--retry-budget-ms", "3000"]);
      await eventually(
        () => endsAt("down", 199),
        30_000,
        () => first.output().slice(-3000),
      );
      await proxy.down();
      await produce("down", 200, 100);
      const started = Date.now();
      expect(await first.exited).toEqual({ code: 1, signal: null });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2500); // the budget was spent retrying
      expect(first.output()).toMatch(
        new RegExp(
          `MIRROR_DESTINATION_UNREACHABLE: destination s3://${BUCKET}/${PREFIX}/down/0 unreachable: cannot write offsets 200-\\d+ after \\d+ attempt\\(s\\)`,
        ),
      );

      // Still down at start: the same clear failure from the first listing.
      const again = startMirror(config, ["--retry-budget-ms", "1000"]);
      expect(await again.exited).toEqual({ code: 1, signal: null });
      expect(again.output()).toContain(
        `MIRROR_DESTINATION_UNREACHABLE: destination s3://${BUCKET}/${PREFIX}/down/0 unreachable: cannot open`,
      );

      await proxy.up();
      const third = startMirror(config);
      await eventually(
        () => endsAt("down", 299),
        30_000,
        () => third.output().slice(-3000),
      );
      expect(await third.stop()).toEqual({ code: 0, signal: null });
      await expectExactly("down", 300);
    } finally {
      await proxy.down();
    }
  });

  it("a foreign object under the prefix: the mirror refuses to start, naming its key", async () => {
    const foreign = `${PREFIX}/two/0/README.txt`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: foreign, Body: "not a segment" }));
    const mirror = startMirror(
      writeConfig("foreign", { name: "two-c", topic: "two" }, { "max-offsets": 10 }),
    );
    expect(await mirror.exited).toEqual({ code: 1, signal: null });
    expect(mirror.output()).toContain(`MIRROR_DESTINATION_INVALID: foreign file s3://${BUCKET}/${foreign}`);
  });
});
