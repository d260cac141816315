/**
 * A single-node etcd on a private loopback port with a temp data dir, for the
 * router-cluster tests and bench. Debian's etcd binary comes from the tool
 * cache (scripts/setup.sh, `etcd:etcd-server`). Raft timing is shortened
 * (heartbeat 50 ms, election 500 ms) so that leases as short as 1 s are
 * honoured (etcd raises a TTL below 1.5 × election timeout to that minimum).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Etcd3 } from "etcd3";
import { ManagedProcess } from "../../src/cluster/managed-process";

export function etcdBinary(): string {
  const cache = process.env.CONVEYOR_CACHE ?? path.join(os.homedir(), ".cache", "conveyor");
  const bin = path.join(cache, "bin", "etcd");
  if (!fs.existsSync(bin))
    throw new Error(
      `etcd not found at ${bin}; run scripts/setup.sh (installs Debian's etcd-server into the cache)`,
    );
  return bin;
}

/** TLS of the client port: etcd's certificate and the CA its clients' certificates must chain to. */
export interface EtcdTls {
  cert: string;
  key: string;
  ca: string;
  /** A client certificate for the harness's own reads (etcd runs with --client-cert-auth). */
  client: { cert: string; key: string };
}

export type EtcdCredentials = NonNullable<ConstructorParameters<typeof Etcd3>[0]>["credentials"];

export function etcdCredentials(tls: EtcdTls | undefined): EtcdCredentials {
  if (tls === undefined) return undefined;
  return {
    rootCertificate: fs.readFileSync(tls.ca),
    certChain: fs.readFileSync(tls.client.cert),
    privateKey: fs.readFileSync(tls.client.key),
  };
}

export class EtcdServer {
  private process: ManagedProcess | undefined;
  private starts = 0;

  constructor(
    private readonly dir: string,
    readonly host: string,
    readonly clientPort: number,
    private readonly peerPort: number,
    readonly tls?: EtcdTls,
  ) {}

  /** host:port for ROUTER_STORE=etcd:<endpoint>. */
  get endpoint(): string {
    return `${this.host}:${this.clientPort}`;
  }

  /** A client of this etcd (TLS with the harness's client certificate when etcd has TLS). */
  client(): Etcd3 {
    const credentials = etcdCredentials(this.tls);
    return new Etcd3({
      hosts: `${this.tls ? "https" : "http"}://${this.endpoint}`,
      ...(credentials ? { credentials } : {}),
    });
  }

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  /** Starts etcd (again, on the same data dir) and resolves once it answers a read. */
  async start(): Promise<void> {
    const peer = `http://${this.host}:${this.peerPort}`;
    const client = `${this.tls ? "https" : "http"}://${this.endpoint}`;
    const args = [
      ...["--name", "conveyor-test", "--data-dir", path.join(this.dir, "etcd-data")],
      ...["--listen-client-urls", client, "--advertise-client-urls", client],
      ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
      ...["--initial-cluster", `conveyor-test=${peer}`],
      ...["--heartbeat-interval", "50", "--election-timeout", "500"],
      ...["--logger", "zap", "--log-level", "warn"],
      ...(this.tls
        ? [
            ...["--cert-file", this.tls.cert, "--key-file", this.tls.key],
            ...["--trusted-ca-file", this.tls.ca, "--client-cert-auth"],
          ]
        : []),
    ];
    this.starts++;
    this.process = new ManagedProcess(
      `etcd-${this.starts}`,
      etcdBinary(),
      args,
      { ...process.env, ETCD_UNSUPPORTED_ARCH: "" },
      path.join(this.dir, "etcd.log"),
    );
    const proc = this.process;
    await Promise.race([
      waitForEtcd(this.endpoint, 15_000, this.tls),
      proc.exited.then((s) => {
        throw new Error(`etcd exited (code ${s.code}) before serving:\n${proc.output().slice(-2000)}`);
      }),
    ]);
  }

  kill(): Promise<unknown> {
    const p = this.process;
    if (!p) return Promise.resolve();
    p.kill("SIGKILL");
    return p.exited;
  }

  async stop(): Promise<void> {
    await this.process?.stop(5000);
  }
}

/** Polls a read until etcd answers (a fresh member elects itself within the election timeout). */
export async function waitForEtcd(endpoint: string, timeoutMs: number, tls?: EtcdTls): Promise<void> {
  const credentials = etcdCredentials(tls);
  const client = new Etcd3({
    hosts: `${tls ? "https" : "http"}://${endpoint}`,
    dialTimeout: 500,
    ...(credentials ? { credentials } : {}),
  });
  const until = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client
          .get("conveyor-probe")
          .options({ deadline: new Date(Date.now() + 500) })
          .string();
        return;
      } catch (err) {
        if (Date.now() > until)
          throw new Error(`etcd at ${endpoint} not serving after ${timeoutMs} ms: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.close();
  }
}
