/**
 * A TCP relay on loopback that a test can hold still: while held, no byte
 * moves in either direction (the connections stay open, the bytes wait), so a
 * process behind it stops hearing its peer without seeing a disconnect.
 */
import * as net from "node:net";

export class TcpRelay {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private held = false;
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
      if (relay!.held) for (const s of pair) s.pause();
      client.pipe(upstream);
      upstream.pipe(client);
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

  /** Stops moving bytes (both directions, every connection, new ones too). */
  hold(): void {
    this.held = true;
    for (const pair of this.pairs) for (const s of pair) s.pause();
  }

  /** Moves the bytes that waited, and everything after. */
  release(): void {
    this.held = false;
    for (const pair of this.pairs) for (const s of pair) s.resume();
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
