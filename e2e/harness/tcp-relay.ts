/**
 * A TCP relay on loopback that a test can hold still: while held, no byte
 * moves in either direction (the connections stay open, the bytes wait), so a
 * process behind it stops hearing its peer without seeing a disconnect.
 * Held "to-client", only what the target sends back waits: the client is heard
 * but hears nothing (a router that sees a sidecar speak but cannot answer it).
 */
import * as net from "node:net";

/** What waits while held: every byte, or only the target's bytes to the client. */
export type HoldDirection = "both" | "to-client";

export class TcpRelay {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private held: HoldDirection | undefined;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    readonly address: string,
    server: net.Server,
  ) {
    this.server = server;
  }

  /** Listens on host:port (0 = any free port) and relays every connection to `target` ("host:port"). */
  static async start(host: string, port: number, target: string): Promise<TcpRelay> {
    const [targetHost, targetPort] = splitAddress(target);
    let relay: TcpRelay | undefined; // eslint-disable-line prefer-const -- set after listen()
    const server = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      const pair: [net.Socket, net.Socket] = [client, upstream];
      relay!.pairs.add(pair);
      relay!.accepted++;
      client.pipe(upstream);
      upstream.pipe(client);
      // After pipe(), which resumes a paused source: paused before, a new connection was not held.
      relay!.pause(pair);
      const close = (): void => {
        relay!.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const bound = server.address() as net.AddressInfo;
    relay = new TcpRelay(`${host}:${bound.port}`, server);
    return relay;
  }

  /** Connections open now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Stops moving bytes (both directions or only to the client; every connection, new ones too). */
  hold(direction: HoldDirection = "both"): void {
    this.held = direction;
    for (const pair of this.pairs) this.pause(pair);
  }

  /** Moves the bytes that waited, and everything after. */
  release(): void {
    this.held = undefined;
    for (const pair of this.pairs) for (const s of pair) s.resume();
  }

  /** Stops reading what is held: a paused socket's bytes wait in the kernel (and then in its peer). */
  private pause([client, upstream]: [net.Socket, net.Socket]): void {
    if (this.held === undefined) return;
    upstream.pause();
    if (this.held === "both") client.pause();
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}
