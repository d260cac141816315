/**
 * mTLS everywhere, with certificates made by openssl at test time:
 *
 *   router 127.0.71.1 (mTLS + ADMIN_TOKEN) ◀─ mTLS ─ sidecar a (pod A: source gen)
 *                                          ◀─ mTLS ─ sidecar b (pod B: enrich, out; DATAPLANE_TOKEN)
 *   gen ──peer hop (mTLS)──▶ enrich ──▶ out
 *
 * The certificates of all three are rotated mid-flow: every record arrives.
 * Then outsiders try: no credentials, a certificate from another CA, a
 * sidecar certificate acting as another sidecar, a Forward to a stage not
 * placed on the receiver, data-plane credentials on Admin. All refused and
 * counted; grpcurl and `conveyor status` with the right credentials work.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { LocalCluster, type Started } from "../src/cluster/local-cluster";
import { CONVEYOR_MAIN } from "../src/cluster/managed-process";
import { deadlineIn, v1 } from "../src/proto";
import { toolPath } from "../src/testing/tools";
import type { ForwardAck__Output } from "../src/generated/conveyor/v1/ForwardAck";
import { makeCa, makeLeaf, type Ca, type CertFiles } from "../src/testing/certs";
import { fetchMetrics, sumSamples } from "./harness/metrics";
import { countLines, eventually, readSinkFile } from "./harness/pipeline";
import { freePortBlock } from "./harness/ports";

jest.setTimeout(90_000);

const run = promisify(execFile);
const ROUTER_HOST = "127.0.71.1";
const POD_A = "127.0.71.2";
const POD_B = "127.0.71.3";
const TD = "conveyor.local";
const COUNT = 12_000;
const RATE = 2_000;
const ADMIN_TOKEN = "admin-token-0123456789";
const DATAPLANE_TOKEN = "dataplane-token-0123456789";
const PIPELINE = "name: sec\nsource: { stage: gen }\nsteps: [ { stage: enrich } ]\nsink: { stage: out }\n";
const spiffe = (role: string, name: string): string => `spiffe://${TD}/ns/default/${role}/${name}`;

type Status = { code: grpc.status; details: string };

function credentials(ca: string, leaf?: CertFiles): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    fs.readFileSync(ca),
    leaf ? fs.readFileSync(leaf.key) : null,
    leaf ? fs.readFileSync(leaf.cert) : null,
  );
}

function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
}

function unary<T>(
  invoke: (cb: (err: grpc.ServiceError | null, res?: T) => void) => void,
): Promise<T | Status> {
  return new Promise((resolve) =>
    invoke((err, res) => resolve(err ? { code: err.code, details: err.details } : (res as T))),
  );
}

/** One Forward batch on a fresh stream: the ack, or the stream's error status. */
function forwardOnce(
  address: string,
  creds: grpc.ChannelCredentials,
  batch: { pipeline: string; stageIndex: number; generation: number },
): Promise<ForwardAck__Output | Status> {
  const client = new v1.DataPlane(address, creds);
  return new Promise<ForwardAck__Output | Status>((resolve) => {
    const call = client.forward({ deadline: deadlineIn(5000) });
    call.on("data", (ack: ForwardAck__Output) => {
      if (Number(ack.batchId) !== 1) return; // the opening credits
      resolve(ack);
      call.cancel();
    });
    call.on("error", (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
    call.write({
      batchId: 1,
      ...batch,
      senderId: "a",
      records: [{ id: "intruder-1", key: Buffer.from("k"), value: Buffer.from("v"), headers: {} }],
    });
  }).finally(() => client.close());
}

/** The serial of the certificate a TLS server presents to a new connection. */
function servedSerial(host: string, port: number, ca: string): Promise<bigint> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host, port, ca: fs.readFileSync(ca), ALPNProtocols: ["h2"], servername: undefined },
      () => {
        resolve(BigInt(`0x${socket.getPeerCertificate().serialNumber}`));
        socket.destroy();
      },
    );
    socket.on("error", reject);
  });
}

async function grpcurl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(toolPath("grpcurl"), ["-max-time", "10", ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe("security: mTLS, identities, rotation", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-security-"));
  const certDir = path.join(dir, "certs");
  const cluster = new LocalCluster(dir);
  let ca: Ca;
  let foreign: Ca;
  let base = 0;
  let router = "";
  let sidecarB = "";
  let routerProc: Started;
  let procA: Started;
  let procB: Started;
  const leaf = (stem: string, uri: string | undefined, ips: string[]): CertFiles =>
    makeLeaf(ca, { stem, ...(uri ? { uri } : {}), ips, dns: ["localhost"] });
  const sidecarCert = (id: string): CertFiles => ({
    cert: path.join(certDir, `sidecar-${id}.crt`),
    key: path.join(certDir, `sidecar-${id}.key`),
  });
  const tlsEnv = (l: CertFiles): NodeJS.ProcessEnv => ({
    TLS_CERT_FILE: l.cert,
    TLS_KEY_FILE: l.key,
    TLS_CA_FILE: ca.cert,
    TLS_RELOAD_INTERVAL_SECS: "0.3",
  });

  beforeAll(async () => {
    ca = makeCa(certDir, "cluster");
    foreign = makeCa(path.join(certDir, "foreign"), "foreign");
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 14);
    router = `${ROUTER_HOST}:${base}`;
    sidecarB = `${POD_B}:${base + 1}`;
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    routerProc = await cluster.startRouter({
      host: ROUTER_HOST,
      port: base,
      heartbeatIntervalSecs: 1,
      metricsPort: base + 12,
      env: { ...tlsEnv(leaf("router", undefined, [ROUTER_HOST])), ADMIN_TOKEN },
      caFile: ca.cert,
    });
    await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: base + 2 });
    await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 3, dir });
    const sidecarEnv = (id: string, host: string): NodeJS.ProcessEnv => ({
      ...tlsEnv(leaf(`sidecar-${id}`, spiffe("sidecar", id), [host])),
      DATAPLANE_TOKEN,
    });
    procA = await cluster.startSidecar({
      id: "a",
      host: POD_A,
      port: base + 1,
      router,
      metricsPort: base + 13,
      env: sidecarEnv("a", POD_A),
      caFile: ca.cert,
      ...discovery,
    });
    procB = await cluster.startSidecar({
      id: "b",
      host: POD_B,
      port: base + 1,
      router,
      metricsPort: base + 13,
      env: sidecarEnv("b", POD_B),
      caFile: ca.cert,
      ...discovery,
    });
    const admin = new v1.Admin(router, credentials(ca.cert));
    const applied = await unary((cb) =>
      admin.applyPipeline({ definition: PIPELINE }, bearer(ADMIN_TOKEN), { deadline: deadlineIn(5000) }, cb),
    );
    admin.close();
    expect(applied).not.toHaveProperty("code");
  });

  afterAll(async () => {
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("moves every record over mTLS peer hops while all certificates are rotated mid-flow", async () => {
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_A,
      port: base + 2,
      count: COUNT,
      rate: RATE,
    });
    const sinkFile = path.join(dir, "out.ndjson");
    await eventually(
      () => countLines(sinkFile) >= COUNT / 5,
      30_000,
      () => `${countLines(sinkFile)} records arrived before the rotation`,
    );
    const before = await servedSerial(POD_B, base + 1, ca.cert);
    const rotatedB = makeLeaf(ca, { stem: "sidecar-b", uri: spiffe("sidecar", "b"), ips: [POD_B] });
    makeLeaf(ca, { stem: "sidecar-a", uri: spiffe("sidecar", "a"), ips: [POD_A] });
    makeLeaf(ca, { stem: "router", ips: [ROUTER_HOST], dns: ["localhost"] });
    const reloaded = (p: Started): boolean => p.process.output().includes("TLS certificate reloaded");
    await eventually(
      () => reloaded(procA) && reloaded(procB) && reloaded(routerProc),
      10_000,
      () => "not every process reloaded its certificate",
    );
    // A new connection gets the new certificate; the records in flight carry on over the old ones.
    const after = await servedSerial(POD_B, base + 1, ca.cert);
    expect(after).toBe(BigInt(`0x${rotatedB.serial}`));
    expect(after).not.toBe(before);
    expect(countLines(sinkFile)).toBeLessThan(COUNT); // still flowing when rotated

    await eventually(
      () => countLines(sinkFile) >= COUNT,
      40_000,
      () => `${countLines(sinkFile)} of ${COUNT} records arrived`,
    );
    const ids = new Set(readSinkFile(sinkFile).map((l) => l.id));
    expect(ids.size).toBe(COUNT);
  });

  it("refuses to register a sidecar without credentials, or as another sidecar than its certificate", async () => {
    const request = {
      sidecarId: "c",
      podName: "pod-c",
      namespace: "default",
      peerAddress: "x:1",
      services: [],
    };
    const anonymous = new v1.Router(router, credentials(ca.cert));
    const noCreds = await unary((cb) => anonymous.register(request, { deadline: deadlineIn(5000) }, cb));
    anonymous.close();
    expect(noCreds).toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    const asA = new v1.Router(
      router,
      credentials(ca.cert, {
        cert: path.join(certDir, "sidecar-a.crt"),
        key: path.join(certDir, "sidecar-a.key"),
      }),
    );
    const impostor = await unary((cb) => asA.register(request, { deadline: deadlineIn(5000) }, cb));
    asA.close();
    expect(impostor).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect((impostor as Status).details).toContain('cannot act as sidecar "c"');

    // A heartbeat stream as another sidecar is refused too.
    const hbClient = new v1.Router(router, credentials(ca.cert, sidecarCert("a")));
    const hb = await new Promise<Status>((resolve) => {
      const call = hbClient.heartbeat({ deadline: deadlineIn(5000) });
      call.on("data", () => undefined);
      call.on("error", (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
      call.write({ sidecarId: "b", services: [], stages: [], sources: [] });
    });
    hbClient.close();
    expect(hb).toMatchObject({ code: grpc.status.PERMISSION_DENIED });

    const admin = new v1.Admin(router, credentials(ca.cert));
    const sidecars = await unary<{ sidecars: Array<{ sidecarId: string }> }>((cb) =>
      admin.listSidecars({}, bearer(ADMIN_TOKEN), { deadline: deadlineIn(5000) }, cb),
    );
    admin.close();
    expect("sidecars" in sidecars && sidecars.sidecars.map((s) => s.sidecarId).sort()).toEqual(["a", "b"]);

    const metrics = await fetchMetrics(`http://${ROUTER_HOST}:${base + 12}/metrics`);
    expect(
      sumSamples(metrics, "conveyor_auth_rejected_total", {
        method: "conveyor.v1.Router/Register",
        reason: "no_credentials",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sumSamples(metrics, "conveyor_auth_rejected_total", { reason: "sidecar_id_mismatch" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("refuses a Forward from a peer whose certificate comes from another CA", async () => {
    const intruder = makeLeaf(foreign, { stem: "intruder", uri: spiffe("sidecar", "a"), ips: [POD_A] });
    const result = await forwardOnce(sidecarB, credentials(ca.cert, intruder), {
      pipeline: "sec",
      stageIndex: 1,
      generation: 1,
    });
    expect(result).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const metrics = await fetchMetrics(`http://${POD_B}:${base + 13}/metrics`);
    expect(
      sumSamples(metrics, "conveyor_auth_rejected_total", {
        method: "conveyor.v1.DataPlane/Forward",
        code: "UNAUTHENTICATED",
      }),
    ).toBe(1);
  });

  it("refuses a Forward to a stage the router did not place on the receiver", async () => {
    const dp = new v1.DataPlane(sidecarB, credentials(ca.cert));
    const routes = await unary<{ pipelines: Array<{ pipeline: string; generation: number }> }>((cb) =>
      dp.getRoutes({}, bearer(DATAPLANE_TOKEN), { deadline: deadlineIn(5000) }, cb),
    );
    dp.close();
    if (!("pipelines" in routes)) throw new Error(`GetRoutes failed: ${routes.details}`);
    const generation = Number(routes.pipelines.find((p) => p.pipeline === "sec")!.generation);
    const asA = credentials(ca.cert, {
      cert: path.join(certDir, "sidecar-a.crt"),
      key: path.join(certDir, "sidecar-a.key"),
    });
    // Stage 0 (gen) runs on a, not on b: a genuine sidecar certificate does not make it b's.
    const ack = await forwardOnce(sidecarB, asA, { pipeline: "sec", stageIndex: 0, generation });
    expect(ack).toMatchObject({ code: "STAGE_NOT_PLACED", written: 0 });
    // The same sidecar may forward to the stage b does run.
    const ok = await forwardOnce(sidecarB, asA, { pipeline: "sec", stageIndex: 1, generation });
    expect(ok).toMatchObject({ error: "", written: 1 });
    const metrics = await fetchMetrics(`http://${POD_B}:${base + 13}/metrics`);
    expect(sumSamples(metrics, "conveyor_auth_rejected_total", { reason: "stage_not_placed" })).toBe(1);
  });

  it("refuses data-plane credentials on the Admin API, and Inject without them", async () => {
    const admin = new v1.Admin(router, credentials(ca.cert));
    const withDpToken = await unary((cb) =>
      admin.listPipelines({}, bearer(DATAPLANE_TOKEN), { deadline: deadlineIn(5000) }, cb),
    );
    admin.close();
    expect(withDpToken).toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    const asSidecar = new v1.Admin(
      router,
      credentials(ca.cert, {
        cert: path.join(certDir, "sidecar-b.crt"),
        key: path.join(certDir, "sidecar-b.key"),
      }),
    );
    const withSidecarCert = await unary((cb) =>
      asSidecar.applyPipeline({ definition: PIPELINE }, { deadline: deadlineIn(5000) }, cb),
    );
    asSidecar.close();
    expect(withSidecarCert).toMatchObject({ code: grpc.status.PERMISSION_DENIED });

    const dp = new v1.DataPlane(sidecarB, credentials(ca.cert));
    const inject = await unary((cb) =>
      dp.inject(
        { pipeline: "sec", stage: "out", records: [] },
        bearer(ADMIN_TOKEN),
        { deadline: deadlineIn(5000) },
        cb,
      ),
    );
    dp.close();
    expect(inject).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("works with grpcurl and conveyor status given the right certificates or token", async () => {
    const admin = makeLeaf(ca, { stem: "admin", uri: spiffe("admin", "ops") });
    const tlsArgs = ["-cacert", ca.cert];
    const byCert = await grpcurl(
      ...tlsArgs,
      "-cert",
      admin.cert,
      "-key",
      admin.key,
      router,
      "conveyor.v1.Admin/ListPipelines",
    );
    expect(byCert.stderr).toBe("");
    expect(byCert.stdout).toContain('"name": "sec"');
    const byToken = await grpcurl(
      ...tlsArgs,
      "-H",
      `authorization: Bearer ${ADMIN_TOKEN}`,
      router,
      "conveyor.v1.Admin/ListSidecars",
    );
    expect(byToken.stdout).toContain('"sidecar_id": "b"');
    const anonymous = await grpcurl(...tlsArgs, router, "conveyor.v1.Admin/ListPipelines");
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain("Unauthenticated");
    const health = await grpcurl(...tlsArgs, sidecarB, "grpc.health.v1.Health/Check");
    expect(health.stdout).toContain("SERVING");
    const routes = await grpcurl(
      ...tlsArgs,
      "-H",
      `authorization: Bearer ${DATAPLANE_TOKEN}`,
      "-d",
      "{}",
      sidecarB,
      "conveyor.v1.DataPlane/GetRoutes",
    );
    expect(routes.stdout).toContain('"pipeline": "sec"');

    const status = await run(process.execPath, [
      CONVEYOR_MAIN,
      "status",
      "--router",
      router,
      "--cacert",
      ca.cert,
      "--cert",
      admin.cert,
      "--key",
      admin.key,
      "--json",
    ]);
    expect(JSON.parse(status.stdout)).toMatchObject({ pipelines: [{ name: "sec" }] });
    const refused = await run(process.execPath, [
      CONVEYOR_MAIN,
      "status",
      "--router",
      router,
      "--cacert",
      ca.cert,
    ]).catch((err: { stderr: string; code: number }) => err);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain("needs an admin credential");
  });
});

describe("security: tokens without TLS", () => {
  const HOST_R = "127.0.72.1";
  const HOST_A = "127.0.72.2";
  const HOST_B = "127.0.72.3";
  const REGISTRATION_TOKEN = "registration-token-0123456789";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-security-tokens-"));
  const cluster = new LocalCluster(dir);
  let base = 0;

  afterAll(async () => {
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("registers and forwards with the registration token; a sidecar without it never joins", async () => {
    base = await freePortBlock([HOST_R, HOST_A, HOST_B], 12);
    const router = `${HOST_R}:${base}`;
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    await cluster.startRouter({
      host: HOST_R,
      port: base,
      heartbeatIntervalSecs: 1,
      env: { REGISTRATION_TOKEN, ADMIN_TOKEN },
    });
    await cluster.startStage({ kind: "transform", name: "enrich", host: HOST_B, port: base + 2 });
    await cluster.startStage({ kind: "sink", name: "out", host: HOST_B, port: base + 3, dir });
    await cluster.startStage({ kind: "source", name: "gen", host: HOST_A, port: base + 2, count: 2000 });
    await cluster.startSidecar({
      id: "a",
      host: HOST_A,
      port: base + 1,
      router,
      env: { REGISTRATION_TOKEN },
      ...discovery,
    });
    await cluster.startSidecar({
      id: "b",
      host: HOST_B,
      port: base + 1,
      router,
      env: { REGISTRATION_TOKEN },
      ...discovery,
    });
    // Pod C has no token: it serves, but the router refuses it.
    const c = await cluster.startSidecar({ id: "c", host: HOST_R, port: base + 1, router, ...discovery });
    const admin = new v1.Admin(router, grpc.credentials.createInsecure());
    try {
      const applied = await unary((cb) =>
        admin.applyPipeline(
          { definition: PIPELINE },
          bearer(ADMIN_TOKEN),
          { deadline: deadlineIn(5000) },
          cb,
        ),
      );
      expect(applied).not.toHaveProperty("code");
      const sinkFile = path.join(dir, "out.ndjson");
      // gen on a → enrich and out on b: every record crossed a peer hop that needs the token.
      await eventually(
        () => countLines(sinkFile) >= 2000,
        30_000,
        () => `${countLines(sinkFile)} of 2000 records arrived`,
      );
      expect(c.process.output()).toContain("the router refused this sidecar's credentials");
      const sidecars = await unary<{ sidecars: Array<{ sidecarId: string }> }>((cb) =>
        admin.listSidecars({}, bearer(ADMIN_TOKEN), { deadline: deadlineIn(5000) }, cb),
      );
      expect("sidecars" in sidecars && sidecars.sidecars.map((s) => s.sidecarId).sort()).toEqual(["a", "b"]);
      // Without the token, the same Forward a peer makes is refused.
      const refused = await forwardOnce(`${HOST_B}:${base + 1}`, grpc.credentials.createInsecure(), {
        pipeline: "sec",
        stageIndex: 1,
        generation: 1,
      });
      expect(refused).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    } finally {
      admin.close();
    }
  });
});
