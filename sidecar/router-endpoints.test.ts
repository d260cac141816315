import { parseEndpointList, RouterEndpoints } from "./router-endpoints";

describe("parseEndpointList", () => {
  it("splits, trims and de-duplicates host:port entries", () => {
    expect(parseEndpointList("a:7070, b:7070,a:7070,,[::1]:7071")).toEqual([
      "a:7070",
      "b:7070",
      "[::1]:7071",
    ]);
    expect(parseEndpointList("router.conveyor.svc:7070")).toEqual(["router.conveyor.svc:7070"]);
  });

  it("refuses entries without a port, and an empty list", () => {
    expect(() => parseEndpointList("a:7070,b")).toThrow(/"b" is not host:port/);
    expect(() => parseEndpointList(" , ")).toThrow(/names no router/);
  });
});

describe("RouterEndpoints", () => {
  const noJitter = { baseMs: 100, maxMs: 400 };

  it("rotates through unreachable endpoints at once, and backs off after a full round", () => {
    const e = new RouterEndpoints(["a:1", "b:1", "c:1"], noJitter);
    expect(e.current).toBe("a:1");
    expect(e.failed({ kind: "unreachable" })).toEqual({ endpoint: "b:1", delayMs: 0 });
    expect(e.failed({ kind: "unreachable" })).toEqual({ endpoint: "c:1", delayMs: 0 });
    const third = e.failed({ kind: "unreachable" });
    expect(third.endpoint).toBe("a:1");
    expect(third.delayMs).toBeGreaterThanOrEqual(50);
    expect(third.delayMs).toBeLessThanOrEqual(100);
    // The next round's pause is longer (exponential), capped at maxMs.
    e.failed({ kind: "unreachable" });
    e.failed({ kind: "unreachable" });
    expect(e.failed({ kind: "unreachable" }).delayMs).toBeGreaterThanOrEqual(100);
  });

  it("follows a leader hint at once, also to an address not in the list", () => {
    const e = new RouterEndpoints(["a:1", "b:1", "c:1"], noJitter);
    expect(e.failed({ kind: "not-leader", leader: "c:1" })).toEqual({ endpoint: "c:1", delayMs: 0 });
    e.succeeded();
    expect(e.failed({ kind: "not-leader", leader: "10.0.0.7:7070" })).toEqual({
      endpoint: "10.0.0.7:7070",
      delayMs: 0,
    });
    expect(e.all).toEqual(["a:1", "b:1", "c:1", "10.0.0.7:7070"]);
  });

  it("pauses when hints go round in circles (a stale hint), then follows again", () => {
    const e = new RouterEndpoints(["a:1", "b:1"], noJitter);
    expect(e.failed({ kind: "not-leader", leader: "b:1" }).delayMs).toBe(0);
    expect(e.failed({ kind: "not-leader", leader: "a:1" }).delayMs).toBe(0);
    const third = e.failed({ kind: "not-leader", leader: "b:1" });
    expect(third.endpoint).toBe("b:1");
    expect(third.delayMs).toBeGreaterThan(0);
    expect(e.failed({ kind: "not-leader", leader: "a:1" })).toEqual({ endpoint: "a:1", delayMs: 0 });
  });

  it("moves on after a pause when no leader is elected yet, or the hint names the endpoint itself", () => {
    const e = new RouterEndpoints(["a:1", "b:1"], noJitter);
    const none = e.failed({ kind: "not-leader", leader: undefined });
    expect(none.endpoint).toBe("b:1");
    expect(none.delayMs).toBeGreaterThan(0);
    const self = e.failed({ kind: "not-leader", leader: "b:1" });
    expect(self.endpoint).toBe("a:1");
    expect(self.delayMs).toBeGreaterThan(0);
  });

  it("keeps the current endpoint across a DNS refresh that still lists it", () => {
    const e = new RouterEndpoints(["10.0.0.1:7070", "10.0.0.2:7070"], noJitter);
    e.failed({ kind: "unreachable" });
    e.replace(["10.0.0.3:7070", "10.0.0.2:7070"]);
    expect(e.current).toBe("10.0.0.2:7070");
    e.replace(["10.0.0.4:7070"]);
    expect(e.current).toBe("10.0.0.4:7070");
  });
});
