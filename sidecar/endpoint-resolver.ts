/**
 * CLUSTER_ENDPOINT entries that are DNS names become one endpoint per address
 * (A and AAAA, via the system resolver: /etc/hosts included), so that a
 * headless Service naming three routers counts as three endpoints and the
 * sidecar can follow the leader among them. Resolved at start and again after
 * failures (router-client.ts), at most once per minIntervalMs.
 *
 *   "routers.conveyor:7070,10.0.0.9:7070" ─lookup─▶ 10.0.0.1:7070 (name routers.conveyor)
 *                                                   10.0.0.2:7070 (name routers.conveyor)
 *                                                   [fd00::3]:7070 (name routers.conveyor)
 *                                                   10.0.0.9:7070
 *
 * An address dialled for a name keeps the name: TLS checks the router's
 * certificate against it (and it is the :authority), as if the name had been
 * dialled. A name that does not resolve stays as it is (grpc-js resolves it
 * when it dials, and the next refresh tries again).
 */
import * as dns from "node:dns";
import * as net from "node:net";

export type LookupAll = (host: string) => Promise<Array<{ address: string; family: number }>>;

export interface ResolvedEndpoint {
  /** host:port to dial (an IPv6 address in brackets). */
  address: string;
  /** The configured DNS name it came from, when it came from one. */
  name?: string;
}

export const systemLookup: LookupAll = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

function splitHostPort(entry: string): { host: string; port: string } {
  const i = entry.lastIndexOf(":");
  return { host: entry.slice(0, i).replace(/^\[|\]$/g, ""), port: entry.slice(i + 1) };
}

/** Every entry's addresses, in order, each once. */
export async function resolveEndpoints(
  entries: readonly string[],
  lookup: LookupAll,
): Promise<ResolvedEndpoint[]> {
  const resolved = await Promise.all(
    entries.map(async (entry): Promise<ResolvedEndpoint[]> => {
      const { host, port } = splitHostPort(entry);
      if (net.isIP(host) !== 0) return [{ address: entry }];
      const addresses = await lookup(host).catch(() => []);
      if (addresses.length === 0) return [{ address: entry }];
      return addresses.map((a) => ({
        address: a.family === 6 ? `[${a.address}]:${port}` : `${a.address}:${port}`,
        name: host,
      }));
    }),
  );
  const out = new Map<string, ResolvedEndpoint>();
  for (const e of resolved.flat()) if (!out.has(e.address)) out.set(e.address, e);
  return [...out.values()];
}

export class EndpointResolver {
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly entries: readonly string[],
    private readonly lookup: LookupAll = systemLookup,
    private readonly minIntervalMs = 1000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Whether any entry is a DNS name (else there is nothing to resolve). */
  get hasNames(): boolean {
    return this.entries.some((e) => net.isIP(splitHostPort(e).host) === 0);
  }

  /** The DNS name an address was resolved from, if it was. */
  nameOf(address: string): string | undefined {
    return this.names.get(address);
  }

  /** A fresh list, or undefined when there are no names or the last lookup was too recent. */
  async refresh(): Promise<string[] | undefined> {
    if (!this.hasNames || this.clock() - this.lastMs < this.minIntervalMs) return undefined;
    this.lastMs = this.clock();
    const resolved = await resolveEndpoints(this.entries, this.lookup);
    for (const e of resolved) if (e.name !== undefined) this.names.set(e.address, e.name);
    return resolved.map((e) => e.address);
  }
}
