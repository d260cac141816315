/**
 * Discovery against a port range we own on 127.0.0.1, filled with everything
 * a pod may run: stage services (SDK and custom-named), a gRPC server without
 * reflection, non-gRPC servers and a closed port.
 */
import * as net from "node:net";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
// Deep import on purpose: the package only exports the facade that serves both versions.
import { ReflectionV1AlphaImplementation } from "@grpc/reflection/build/src/implementations/reflection-v1alpha";
import { serveSink, serveSource, serveTransform, generatorSource, type StageServer } from "../src/sdk";
import { startGrpcServer } from "../src/grpc/server";
import { PROTO_DIR, PROTO_LOADER_OPTIONS, v1 } from "../src/proto";
import { createLogger } from "../src/telemetry/log";
import { metrics } from "../src/telemetry/metrics";
import { ReflectionError } from "./reflection-client";
import {
  startGarbageServer,
  startHttp1Server,
  startSilentTcpServer,
  type TestServer,
} from "../src/testing/garbage-servers";
import {
  Discovery,
  hasDescribe,
  kindsFromMethods,
  reflectionErrorCode,
  scanPorts,
  type MethodShape,
} from "./discovery";

const HOST = "127.0.0.1";
const TIMEOUT_MS = 1500;
const log = createLogger("discovery-test");

/** Port roles inside the reserved range (offset from the base port). */
const ROLE = {
  closed: 0,
  silent: 1,
  garbage: 2,
  http1: 3,
  noReflection: 4,
  enrich: 5,
  out: 6,
  gen: 7,
  acme: 8,
  later: 9,
} as const;
const RANGE = 10;

type Stoppable = { stop(): Promise<void> };

/** A contiguous range of free ports below the ephemeral range, so port-0 servers elsewhere do not land in it. */
async function reserveRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 12000);
    const probes: net.Server[] = [];
    let free = true;
    for (let p = base; p < base + count && free; p++) {
      const s = net.createServer();
      free = await new Promise<boolean>((resolve) => {
        s.once("error", () => resolve(false));
        s.listen(p, HOST, () => resolve(true));
      });
      if (free) probes.push(s);
    }
    await Promise.all(probes.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    if (free) return base;
  }
  throw new Error("no free contiguous port range found");
}

function loadAcme(): protoLoader.PackageDefinition {
  return protoLoader.loadSync("acme-stages.proto", {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [path.resolve(__dirname, "..", "src", "testing"), PROTO_DIR],
  });
}

/** acme.Enricher, acme.Archiver and acme.Greeter on a plain server with reflection listing exactly them. */
async function startAcmeServer(port: number): Promise<Stoppable> {
  const pkg = loadAcme();
  const server = new grpc.Server();
  const echo = (call: grpc.ServerDuplexStream<unknown, unknown>): void => {
    call.on("data", (m: unknown) => call.write(m));
    call.on("end", () => call.end());
  };
  server.addService(pkg["acme.Enricher"] as grpc.ServiceDefinition, { Process: echo });
  server.addService(pkg["acme.Archiver"] as grpc.ServiceDefinition, {
    Describe: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, { name: "archive", version: "7" }),
    Write: echo,
  });
  server.addService(pkg["acme.Greeter"] as grpc.ServiceDefinition, { Process: echo });
  new ReflectionService(pkg, { services: ["acme.Enricher", "acme.Archiver", "acme.Greeter"] }).addToServer(
    server,
  );
  await bind(server, port);
  return { stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** A real conveyor.v1.Transform server, but without reflection: discovery cannot see it. */
async function startNoReflectionServer(port: number): Promise<Stoppable> {
  const server = new grpc.Server();
  server.addService(v1.Transform.service, {
    Describe: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, { name: "hidden" }),
    Process: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
  });
  await bind(server, port);
  return { stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

function bind(server: grpc.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(`${HOST}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
}

const asStoppable = (s: TestServer): Stoppable => ({ stop: () => s.close() });
const stageStoppable = (s: StageServer): Stoppable => ({ stop: () => s.stop(500) });

let base = 0;
const running: Stoppable[] = [];

async function startAll(b: number): Promise<void> {
  const at = (role: keyof typeof ROLE) => b + ROLE[role];
  running.push(asStoppable(await startSilentTcpServer(at("silent"))));
  running.push(asStoppable(await startGarbageServer(at("garbage"))));
  running.push(asStoppable(await startHttp1Server(at("http1"))));
  running.push(await startNoReflectionServer(at("noReflection")));
  running.push(
    stageStoppable(
      await serveTransform(at("enrich"), (r) => r, { name: "enrich", host: HOST, version: "1.0.0" }),
    ),
  );
  running.push(stageStoppable(await serveSink(at("out"), () => undefined, { name: "out", host: HOST })));
  running.push(
    stageStoppable(
      await serveSource(at("gen"), { ...generatorSource(), partitions: [0, 1, 2] }, { name: "gen" }),
    ),
  );
  running.push(await startAcmeServer(at("acme")));
}

async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.stop()));
}

beforeAll(async () => {
  // Another process may take a port between the probe and the bind: start over on a fresh range.
  for (let attempt = 0; ; attempt++) {
    base = await reserveRange(RANGE);
    try {
      await startAll(base);
      return;
    } catch (err) {
      await stopAll();
      if (attempt >= 4) throw err;
    }
  }
}, 30_000);

afterAll(stopAll);

const endpoint = (role: keyof typeof ROLE) => `${HOST}:${base + ROLE[role]}`;

describe("scanPorts", () => {
  test("finds exactly the stage services, with kinds and names, within the timeout bound", async () => {
    const started = Date.now();
    const found = await scanPorts({
      host: HOST,
      startPort: base,
      endPort: base + RANGE - 1,
      timeoutMs: TIMEOUT_MS,
      log,
    });
    const elapsed = Date.now() - started;

    expect(found).toEqual([
      {
        endpoint: endpoint("enrich"),
        service: "conveyor.v1.Transform",
        kind: "STAGE_KIND_TRANSFORM",
        stageName: "enrich",
        version: "1.0.0",
        partitions: [],
      },
      {
        endpoint: endpoint("out"),
        service: "conveyor.v1.Sink",
        kind: "STAGE_KIND_SINK",
        stageName: "out",
        version: "0.0.0",
        partitions: [],
      },
      {
        endpoint: endpoint("gen"),
        service: "conveyor.v1.Source",
        kind: "STAGE_KIND_SOURCE",
        stageName: "gen",
        version: "0.0.0",
        partitions: [0, 1, 2],
      },
      {
        endpoint: endpoint("acme"),
        service: "acme.Archiver",
        kind: "STAGE_KIND_SINK",
        stageName: "archive",
        version: "7",
        partitions: [],
      },
      {
        endpoint: endpoint("acme"),
        service: "acme.Enricher",
        kind: "STAGE_KIND_TRANSFORM",
        stageName: "acme.Enricher",
        version: "",
        partitions: [],
      },
    ]);
    // The silent server costs one per-port budget (plus the guard slack), nothing more.
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1000);

    const gauge = await metrics.discoveredServices.get();
    const byKind = Object.fromEntries(gauge.values.map((v) => [v.labels.kind, v.value]));
    expect(byKind).toEqual({ source: 1, transform: 2, sink: 2 });
  }, 15_000);

  test("a silent port alone is skipped after about the timeout, not hung on", async () => {
    const started = Date.now();
    const silent = base + ROLE.silent;
    const found = await scanPorts({ host: HOST, startPort: silent, endPort: silent, timeoutMs: 300, log });
    const elapsed = Date.now() - started;
    expect(found).toEqual([]);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300 + 1000);
  });

  test("closed, garbage, HTTP/1.1 and reflection-less ports fail fast", async () => {
    const started = Date.now();
    const found = await scanPorts({
      host: HOST,
      startPort: base + ROLE.garbage,
      endPort: base + ROLE.noReflection,
      log,
    });
    const closed = await scanPorts({
      host: HOST,
      startPort: base + ROLE.closed,
      endPort: base + ROLE.closed,
      log,
    });
    expect(found).toEqual([]);
    expect(closed).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test("falls back to reflection v1alpha when the server has no v1", async () => {
    const server = new grpc.Server();
    server.addService(v1.Sink.service, {
      Describe: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
        cb(null, { name: "old-sink", version: "0.1" }),
      Write: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
    });
    new ReflectionV1AlphaImplementation(loadAcme(), { services: ["conveyor.v1.Sink"] }).addToServer(server);
    const port = await bind(server, 0);
    try {
      const found = await scanPorts({
        host: HOST,
        startPort: port,
        endPort: port,
        timeoutMs: TIMEOUT_MS,
        log,
      });
      expect(found).toEqual([
        {
          endpoint: `${HOST}:${port}`,
          service: "conveyor.v1.Sink",
          kind: "STAGE_KIND_SINK",
          stageName: "old-sink",
          version: "0.1",
          partitions: [],
        },
      ]);
    } finally {
      server.forceShutdown();
    }
  });

  test("a Describe that answers with an error names the stage by its service name", async () => {
    const server = await startGrpcServer(HOST, 0, [
      {
        name: "conveyor.v1.Transform",
        definition: v1.Transform.service,
        implementation: {
          Describe: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
            cb({ code: grpc.status.INTERNAL, details: "describe is broken" }),
          Process: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
        },
      },
    ]);
    try {
      const found = await scanPorts({ host: HOST, startPort: server.port, endPort: server.port, log });
      expect(found).toEqual([
        {
          endpoint: server.address,
          service: "conveyor.v1.Transform",
          kind: "STAGE_KIND_TRANSFORM",
          stageName: "conveyor.v1.Transform",
          version: "",
          partitions: [],
        },
      ]);
    } finally {
      await server.stop(200);
    }
  });

  test("rejects an invalid range", async () => {
    await expect(scanPorts({ host: HOST, startPort: 10, endPort: 9 })).rejects.toThrow(/port range/);
  });
});

describe("Discovery", () => {
  test("rescan reports a service started later; concurrent rescans share one scan", async () => {
    const discovery = new Discovery({
      host: HOST,
      startPort: base + ROLE.enrich,
      endPort: base + ROLE.later,
      timeoutMs: TIMEOUT_MS,
      intervalMs: 0,
      log,
    });
    const changes: Array<{ current: number; previous: number }> = [];
    discovery.onChange((current, previous) =>
      changes.push({ current: current.length, previous: previous.length }),
    );
    try {
      expect(await discovery.rescan()).toBe(true);
      expect(discovery.current().map((s) => s.stageName)).toEqual([
        "enrich",
        "out",
        "gen",
        "archive",
        "acme.Enricher",
      ]);
      expect(discovery.lastScanMs).toBeGreaterThan(0);

      const scansBefore = await scanCount();
      const a = discovery.rescan();
      const b = discovery.rescan();
      expect(a).toBe(b);
      expect(await a).toBe(false);
      expect((await scanCount()) - scansBefore).toBe(1);

      const late = await serveSink(base + ROLE.later, () => undefined, { name: "late-sink" });
      running.push(stageStoppable(late));
      expect(await discovery.rescan()).toBe(true);
      expect(discovery.current().at(-1)).toEqual({
        endpoint: endpoint("later"),
        service: "conveyor.v1.Sink",
        kind: "STAGE_KIND_SINK",
        stageName: "late-sink",
        version: "0.0.0",
        partitions: [],
      });
      expect(changes).toEqual([
        { current: 5, previous: 0 },
        { current: 6, previous: 5 },
      ]);

      await late.stop(500);
      expect(await discovery.rescan()).toBe(true);
      expect(discovery.current().map((s) => s.stageName)).not.toContain("late-sink");
    } finally {
      discovery.stop();
    }
  }, 20_000);
});

async function scanCount(): Promise<number> {
  const values = (await metrics.discoveryScans.get()).values;
  return values.reduce((n, v) => n + v.value, 0);
}

describe("kind rules", () => {
  const m = (name: string, req: string, res: string, stream = true): MethodShape => ({
    name,
    requestStream: stream,
    responseStream: stream,
    requestType: req,
    responseType: res,
  });

  test("by method shape, with fully-qualified conveyor.v1 message types", () => {
    expect(
      kindsFromMethods([m("Process", "conveyor.v1.ProcessRequest", "conveyor.v1.ProcessResponse")]),
    ).toEqual(["transform"]);
    expect(kindsFromMethods([m("Write", "conveyor.v1.WriteRequest", "conveyor.v1.WriteResponse")])).toEqual([
      "sink",
    ]);
    expect(kindsFromMethods([m("Read", "conveyor.v1.ReadRequest", "conveyor.v1.ReadResponse")])).toEqual([
      "source",
    ]);
    // Look-alikes: other message types, not bidi, other method name.
    expect(kindsFromMethods([m("Process", "acme.ProcessRequest", "acme.ProcessResponse")])).toEqual([]);
    expect(
      kindsFromMethods([m("Process", "conveyor.v1.ProcessRequest", "conveyor.v1.ProcessResponse", false)]),
    ).toEqual([]);
    expect(kindsFromMethods([m("Map", "conveyor.v1.ProcessRequest", "conveyor.v1.ProcessResponse")])).toEqual(
      [],
    );
    // Two shapes: ambiguous, reported as both so the caller can refuse it.
    expect(
      kindsFromMethods([
        m("Process", "conveyor.v1.ProcessRequest", "conveyor.v1.ProcessResponse"),
        m("Write", "conveyor.v1.WriteRequest", "conveyor.v1.WriteResponse"),
      ]),
    ).toEqual(["transform", "sink"]);
  });

  test("Describe must be the conveyor unary method", () => {
    expect(hasDescribe([m("Describe", "conveyor.v1.DescribeRequest", "conveyor.v1.StageInfo", false)])).toBe(
      true,
    );
    expect(hasDescribe([m("Describe", "acme.Req", "conveyor.v1.StageInfo", false)])).toBe(false);
  });

  test("reflection errors give their gRPC code: call errors and error answers alike", () => {
    const callError = Object.assign(new Error("12 UNIMPLEMENTED: nope"), { code: 12 });
    expect(reflectionErrorCode(callError)).toBe(grpc.status.UNIMPLEMENTED);
    expect(reflectionErrorCode(new ReflectionError(grpc.status.NOT_FOUND, "Symbol not found: x"))).toBe(
      grpc.status.NOT_FOUND,
    );
    expect(reflectionErrorCode(new Error("Symbol not found: x"))).toBeUndefined();
  });
});
