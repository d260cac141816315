/**
 * The router cluster with mTLS on every hop, etcd included:
 *
 *   etcd 127.0.26.1 (TLS, --client-cert-auth)
 *   routers 127.0.26.2-4 (mTLS, certificates spiffe://…/router/r<i>, ADMIN_TOKEN, /metrics over HTTPS)
 *   pod A 127.0.26.5: sidecar a + generator "gen" ──peer hop (mTLS, via a TCP relay)──▶
 *   pod B 127.0.26.6: sidecar b + NDJSON sink "out"
 *
 * 1. A certificate-only admin applies the pipeline through a standby (the leader sees the
 *    standby's router certificate, vouching for the admin); the standby answers reads from etcd;
 *    a sidecar certificate cannot forge the vouching header; the Admin token works through a
 *    standby; a Forward to a stage not placed on the receiver is STAGE_NOT_PLACED.
 * 2. kill -9 the leader: a standby answers reads at once, the sidecars follow the new leader over
 *    mTLS, records keep flowing.
 * 3. The CA is rotated (bundle old+new, new leaves, new CA only): the established peer connection
 *    is replaced by one made with the new certificate (a new connection through the relay, which
 *    only the new certificate could open), and the old certificate is refused.
 * Every record arrives.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Etcd3 } from "etcd3";
import { LocalCluster, type Started } from "../src/cluster/local-cluster";
import { deadlineIn, v1 } from "../src/proto";
import type { ForwardAck__Output } from "../src/generated/conveyor/v1/ForwardAck";
import { makeCa, makeLeaf, type Ca, type CertFiles } from "../src/testing/certs";
import { EtcdServer } from "./harness/etcd";
import { scanSinkFile, tearDownCluster } from "./harness/faults";
import { countLines, eventually } from "./harness/pipeline";
import { freePortBlock } from "./harness/ports";
import { currentLeader } from "./harness/router-cluster";
import { TcpRelay } from "./harness/tcp-relay";

jest.setTimeout(90_000);

const ETCD_HOST = "127.0.26.1";
const ROUTER_HOSTS = ["127.0.26.2", "127.0.26.3", "127.0.26.4"];
const POD_A = "127.0.26.5";
const POD_B = "127.0.26.6";
const TD = "conveyor.local";
const COUNT = 4_000;
const RATE = 500;
const ADMIN_TOKEN = "cluster-admin-token-0123456789";
const PIPELINE = "name: flow\nsource: { stage: gen }\nsink: { stage: out }\n";
const spiffe = (role: string, name: string): string => `spiffe://${TD}/ns/default/${role}/${name}`;

type Status = { code: grpc.status | string; details: string };

function unary<T>(
  invoke: (cb: (err: grpc.ServiceError | null, res?: T) => void) => void,
): Promise<T | Status> {
  return new Promise((resolve) =>
    invoke((err, res) => resolve(err ? { code: err.code, details: err.details } : (res as T))),
  );
}

function metadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

const reloads = (p: Started): number => (p.process.output().match(/TLS certificate reloaded/g) ?? []).length;

describe("router cluster on mTLS", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-cluster-mtls-"));
  const certDir = path.join(dir, "certs");
  const cluster = new LocalCluster(dir);
  let etcdServer: EtcdServer | undefined;
  let etcd: Etcd3 | undefined;
  let relay: TcpRelay | undefined;
  let failed = true;

  afterAll(async () => {
    etcd?.close();
    await relay?.stop();
    await tearDownCluster(cluster, dir, "router cluster mtls", failed).finally(() => etcdServer?.stop());
  });

  it("fails over, forwards Admin for certificate-only admins and rotates its CA without losing a record", async () => {
    const ca: Ca = makeCa(certDir, "cluster");
    const leaf = (stem: string, uri: string | undefined, ips: string[], from: Ca = ca): CertFiles =>
      makeLeaf(from, { stem, ...(uri ? { uri } : {}), ips }, certDir);
    // etcd keeps its own CA file: the cluster's CA rotation below is not etcd's.
    const etcdCa = path.join(certDir, "etcd-ca.crt");
    fs.copyFileSync(ca.cert, etcdCa);
    const base = await freePortBlock([ETCD_HOST, ...ROUTER_HOSTS, POD_A, POD_B], 10);
    etcdServer = new EtcdServer(dir, ETCD_HOST, base, base + 1, {
      ...leaf("etcd", undefined, [ETCD_HOST]),
      ca: etcdCa,
      client: leaf("etcd-client", undefined, []),
    });
    await etcdServer.start();
    etcd = etcdServer.client();
    const etcdClientOfRouters = leaf("etcd-client-routers", undefined, []);

    const addresses = ROUTER_HOSTS.map((h) => `${h}:${base + 2}`);
    const routerCerts = ROUTER_HOSTS.map((h, i) => ({
      stem: `router-${i}`,
      uri: spiffe("router", `r${i}`),
      ips: [h],
    }));
    const tlsEnv = (l: CertFiles): NodeJS.ProcessEnv => ({
      TLS_CERT_FILE: l.cert,
      TLS_KEY_FILE: l.key,
      TLS_CA_FILE: ca.cert,
      TLS_RELOAD_INTERVAL_SECS: "0.3",
    });
    const routers = new Map<string, Started>();
    await Promise.all(
      ROUTER_HOSTS.map(async (host, i) => {
        const c = routerCerts[i]!;
        const started = await cluster.startRouter(
          {
            host,
            port: base + 2,
            store: `etcd:${etcdServer!.endpoint}`,
            heartbeatIntervalSecs: 1,
            leaseTtlSecs: 1,
            metricsPort: base + 7,
            caFile: ca.cert,
            env: {
              ...tlsEnv(leaf(c.stem, c.uri, c.ips)),
              ADMIN_TOKEN,
              METRICS_TLS: "on",
              ETCD_CA_FILE: etcdCa,
              ETCD_CERT_FILE: etcdClientOfRouters.cert,
              ETCD_KEY_FILE: etcdClientOfRouters.key,
            },
          },
          `router-${i}`,
        );
        routers.set(addresses[i]!, started);
      }),
    );
    let leader: string | undefined;
    await eventually(
      async () => (leader = await currentLeader(etcd!).catch(() => undefined)) !== undefined,
      10_000,
      () => "no leader elected",
    );

    const adminCert = leaf("admin", spiffe("admin", "ops"), []);
    const sidecarCert = (id: string): CertFiles => ({
      cert: path.join(certDir, `sidecar-${id}.crt`),
      key: path.join(certDir, `sidecar-${id}.key`),
    });
    const creds = (l?: CertFiles): grpc.ChannelCredentials =>
      grpc.credentials.createSsl(
        fs.readFileSync(ca.cert),
        l ? fs.readFileSync(l.key) : null,
        l ? fs.readFileSync(l.cert) : null,
      );
    const clients: grpc.Client[] = [];
    const admin = (address: string, l?: CertFiles): InstanceType<typeof v1.Admin> => {
      const c = new v1.Admin(address, creds(l));
      clients.push(c);
      return c;
    };
    const standbyOf = (l: string): string => addresses.find((a) => a !== l)!;

    // 1. A certificate-only admin, through a standby: the leader believes the standby's vouching.
    const applied = await unary((cb) =>
      admin(standbyOf(leader!), adminCert).applyPipeline(
        { definition: PIPELINE },
        { deadline: deadlineIn(5000) },
        cb,
      ),
    );
    expect(applied).toMatchObject({ name: "flow", created: true });

    leaf("sidecar-a", spiffe("sidecar", "a"), [POD_A]);
    leaf("sidecar-b", spiffe("sidecar", "b"), [POD_B]);
    const discovery = { discoveryStartPort: base + 4, discoveryEndPort: base + 6 };
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_A,
      port: base + 4,
      count: COUNT,
      rate: RATE,
    });
    await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 4, dir });
    relay = await TcpRelay.start(POD_B, base + 9, `${POD_B}:${base + 3}`);
    const sidecars: Started[] = [];
    for (const [id, host] of [
      ["a", POD_A],
      ["b", POD_B],
    ] as const)
      sidecars.push(
        await cluster.startSidecar({
          id,
          host,
          port: base + 3,
          router: addresses.join(","),
          metricsPort: base + 8,
          shutdownGraceSecs: 2,
          caFile: ca.cert,
          // Peers reach b through the relay, which counts the connections.
          env: { ...tlsEnv(sidecarCert(id)), ...(id === "b" ? { PEER_ADDRESS: relay.address } : {}) },
          ...discovery,
        }),
      );
    const sinkFile = path.join(dir, "out.ndjson");
    await eventually(
      () => countLines(sinkFile) >= 200,
      20_000,
      () => `${countLines(sinkFile)} records at the sink`,
    );

    // A standby's reads come from etcd and agree with the leader.
    type Assignments = { assignments: Array<{ stage: string; sidecarId: string }>; generation: number };
    const fromLeader = await unary<Assignments>((cb) =>
      admin(leader!, adminCert).listAssignments({ pipeline: "flow" }, { deadline: deadlineIn(5000) }, cb),
    );
    const fromStandby = await unary<Assignments>((cb) =>
      admin(standbyOf(leader!), adminCert).listAssignments(
        { pipeline: "flow" },
        { deadline: deadlineIn(5000) },
        cb,
      ),
    );
    expect(fromStandby).toEqual(fromLeader);
    expect(
      "assignments" in fromStandby && fromStandby.assignments.map((a) => `${a.stage}@${a.sidecarId}`),
    ).toEqual(["gen@a", "out@b"]);

    // A sidecar certificate cannot forge the vouching a router gives.
    const forged = await unary((cb) =>
      admin(leader!, sidecarCert("a")).applyPipeline(
        { definition: PIPELINE },
        metadata({ "conveyor-forwarded-role": "admin", "conveyor-forwarded-for": spiffe("admin", "ops") }),
        { deadline: deadlineIn(5000) },
        cb,
      ),
    );
    expect(forged).toMatchObject({ code: grpc.status.PERMISSION_DENIED });

    // The Admin token through a standby (a live read, forwarded): the leader lists both sidecars.
    const byToken = await unary<{ sidecars: Array<{ sidecarId: string }> }>((cb) =>
      admin(standbyOf(leader!)).listSidecars(
        {},
        metadata({ authorization: `Bearer ${ADMIN_TOKEN}` }),
        { deadline: deadlineIn(5000) },
        cb,
      ),
    );
    expect("sidecars" in byToken && byToken.sidecars.map((s) => s.sidecarId).sort()).toEqual(["a", "b"]);

    // The placement the cluster committed is enforced: gen is a's, not b's.
    const routes = await unary<{ pipelines: Array<{ pipeline: string; generation: number }> }>((cb) => {
      const dp = new v1.DataPlane(`${POD_B}:${base + 3}`, creds(leaf("client", spiffe("client", "t"), [])));
      clients.push(dp);
      dp.getRoutes({}, { deadline: deadlineIn(5000) }, cb);
    });
    if (!("pipelines" in routes)) throw new Error(`GetRoutes failed: ${routes.details}`);
    const generation = Number(routes.pipelines.find((p) => p.pipeline === "flow")!.generation);
    const ack = await new Promise<ForwardAck__Output | Status>((resolve) => {
      const dp = new v1.DataPlane(`${POD_B}:${base + 3}`, creds(sidecarCert("a")));
      clients.push(dp);
      const call = dp.forward({ deadline: deadlineIn(5000) });
      call.on("data", (a: ForwardAck__Output) => {
        if (Number(a.batchId) !== 1) return;
        resolve(a);
        call.cancel();
      });
      call.on("error", (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
      call.write({
        batchId: 1,
        pipeline: "flow",
        stageIndex: 0,
        generation,
        senderId: "a",
        records: [{ id: "intruder-1", key: Buffer.from("k"), value: Buffer.from("v"), headers: {} }],
      });
    });
    expect(ack).toMatchObject({ code: "STAGE_NOT_PLACED", written: 0 });

    // /metrics over HTTPS with the router's certificate.
    const metrics = await new Promise<string>((resolve, reject) =>
      https
        .get(`https://${ROUTER_HOSTS[0]}:${base + 7}/metrics`, { ca: fs.readFileSync(ca.cert) }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(body));
        })
        .on("error", reject),
    );
    expect(metrics).toContain("conveyor_process_");

    // 2. kill -9 the leader: a standby still answers reads (from etcd), the sidecars follow over mTLS.
    const victim = leader!;
    routers.get(victim)!.process.kill("SIGKILL");
    const atOnce = await unary<{ pipelines: Array<{ name: string }> }>((cb) =>
      admin(standbyOf(victim), adminCert).listPipelines({}, { deadline: deadlineIn(3000) }, cb),
    );
    expect(atOnce).toMatchObject({ pipelines: [{ name: "flow" }] });
    routers.delete(victim);
    const atKill = countLines(sinkFile);
    let alive: string[] = [];
    await eventually(
      async () => {
        leader = await currentLeader(etcd!).catch(() => undefined);
        if (leader === undefined || leader === victim) return false;
        const res = await unary<{ sidecars: Array<{ sidecarId: string; state: string }> }>((cb) =>
          admin(leader!, adminCert).listSidecars({}, { deadline: deadlineIn(2000) }, cb),
        );
        alive =
          "sidecars" in res ? res.sidecars.filter((s) => s.state === "alive").map((s) => s.sidecarId) : [];
        return alive.length === 2;
      },
      15_000,
      () => `leader ${leader ?? "none"} serves ${alive.join(",") || "no sidecar"}`,
    );
    await eventually(
      () => countLines(sinkFile) > atKill + 200,
      15_000,
      () => "records stopped after the failover",
    );

    // 3. Rotate the CA: old+new bundle, new leaves, then the new CA alone.
    const live = [...routers.values(), ...sidecars];
    const reloaded = async (what: string): Promise<void> => {
      const before = live.map(reloads);
      await eventually(
        () => live.every((p, i) => reloads(p) > before[i]!),
        10_000,
        () => `not every process reloaded after ${what}`,
      );
    };
    const ca2 = makeCa(path.join(certDir, "ca2"), "cluster2");
    const oldSidecarA = {
      cert: path.join(dir, "sidecar-a-old.crt"),
      key: path.join(dir, "sidecar-a-old.key"),
    };
    fs.copyFileSync(sidecarCert("a").cert, oldSidecarA.cert);
    fs.copyFileSync(sidecarCert("a").key, oldSidecarA.key);
    const writeCa = async (pem: string, what: string): Promise<void> => {
      const wait = reloaded(what);
      fs.writeFileSync(`${ca.cert}.tmp`, pem);
      fs.renameSync(`${ca.cert}.tmp`, ca.cert);
      await wait;
    };
    const ca1Pem = fs.readFileSync(ca.cert, "utf8");
    const ca2Pem = fs.readFileSync(ca2.cert, "utf8");
    await writeCa(ca1Pem + ca2Pem, "the CA bundle");
    {
      const wait = reloaded("the new leaves");
      for (const [i, host] of ROUTER_HOSTS.entries()) {
        const c = routerCerts[i]!;
        if (addresses[i] !== victim) leaf(c.stem, c.uri, [host], ca2);
      }
      leaf("sidecar-a", spiffe("sidecar", "a"), [POD_A], ca2);
      leaf("sidecar-b", spiffe("sidecar", "b"), [POD_B], ca2);
      await wait;
    }
    const connectionsBefore = relay.accepted;
    await writeCa(ca2Pem, "the new CA alone");
    // The peer hop a → b moved to a connection made after CA1 stopped being trusted.
    await eventually(
      () => relay!.accepted > connectionsBefore,
      10_000,
      () => `no new peer connection after the CA rotation (${relay!.accepted} in all, ${relay!.open} open)`,
    );
    const afterRotation = countLines(sinkFile);
    await eventually(
      () => countLines(sinkFile) > afterRotation + 100,
      10_000,
      () => "records stopped after the CA rotation",
    );
    // The old certificate would be refused now.
    const refused = await unary((cb) => {
      const c = new v1.Router(
        addresses.find((a) => a !== victim)!,
        grpc.credentials.createSsl(
          fs.readFileSync(ca2.cert),
          fs.readFileSync(oldSidecarA.key),
          fs.readFileSync(oldSidecarA.cert),
        ),
      );
      clients.push(c);
      c.register(
        { sidecarId: "a", podName: "a", namespace: "default", peerAddress: "x:1", services: [] },
        { deadline: deadlineIn(5000) },
        cb,
      );
    });
    expect(refused).toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    await eventually(
      () => scanSinkFile(sinkFile, "gen", COUNT).missingCount === 0,
      30_000,
      () => {
        const s = scanSinkFile(sinkFile, "gen", COUNT);
        return `${s.missingCount} of ${COUNT} ids missing, e.g. ${s.missing.join(", ")}`;
      },
    );
    for (const c of clients) c.close();
    failed = false;
  });
});
