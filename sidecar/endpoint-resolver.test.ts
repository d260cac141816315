import { EndpointResolver, resolveEndpoints, type LookupAll } from "./endpoint-resolver";

/** A resolver answering from a table that the test can change. */
function fakeDns(table: Record<string, Array<{ address: string; family: number }>>): {
  lookup: LookupAll;
  calls: string[];
} {
  const calls: string[] = [];
  return {
    calls,
    lookup: (host) => {
      calls.push(host);
      const answer = table[host];
      return answer ? Promise.resolve(answer) : Promise.reject(new Error(`ENOTFOUND ${host}`));
    },
  };
}

describe("resolveEndpoints", () => {
  it("makes one endpoint per A and AAAA address of a name, keeping the name; IP entries as they are", async () => {
    const dns = fakeDns({
      routers: [
        { address: "10.0.0.1", family: 4 },
        { address: "fd00::2", family: 6 },
      ],
    });
    expect(await resolveEndpoints(["routers:7070", "10.0.0.9:7070", "[::1]:7071"], dns.lookup)).toEqual([
      { address: "10.0.0.1:7070", name: "routers" },
      { address: "[fd00::2]:7070", name: "routers" },
      { address: "10.0.0.9:7070" },
      { address: "[::1]:7071" },
    ]);
    expect(dns.calls).toEqual(["routers"]);
  });

  it("keeps a name that does not resolve (grpc-js resolves it when dialling), and lists each address once", async () => {
    const dns = fakeDns({ a: [{ address: "10.0.0.1", family: 4 }], b: [{ address: "10.0.0.1", family: 4 }] });
    expect(await resolveEndpoints(["gone:7070", "a:7070", "b:7070"], dns.lookup)).toEqual([
      { address: "gone:7070" },
      { address: "10.0.0.1:7070", name: "a" },
    ]);
  });
});

describe("EndpointResolver", () => {
  it("re-resolves after the minimum interval and follows the DNS answer", async () => {
    const table: Record<string, Array<{ address: string; family: number }>> = {
      routers: [
        { address: "10.0.0.1", family: 4 },
        { address: "10.0.0.2", family: 4 },
      ],
    };
    const dns = fakeDns(table);
    let now = 0;
    const r = new EndpointResolver(["routers:7070"], dns.lookup, 1000, () => now);
    expect(await r.refresh()).toEqual(["10.0.0.1:7070", "10.0.0.2:7070"]);
    expect(r.nameOf("10.0.0.2:7070")).toBe("routers");
    table.routers = [{ address: "10.0.0.3", family: 4 }];
    now = 500;
    expect(await r.refresh()).toBeUndefined(); // too soon: a failing router cannot make it spin
    now = 1500;
    expect(await r.refresh()).toEqual(["10.0.0.3:7070"]);
    expect(dns.calls).toHaveLength(2);
  });

  it("has nothing to resolve when every entry is an address", async () => {
    const dns = fakeDns({});
    const r = new EndpointResolver(["10.0.0.1:7070", "[::1]:7070"], dns.lookup);
    expect(r.hasNames).toBe(false);
    expect(await r.refresh()).toBeUndefined();
    expect(dns.calls).toEqual([]);
  });
});
