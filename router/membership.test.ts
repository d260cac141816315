import type { LocalService__Output } from "../src/generated/conveyor/v1/LocalService";
import { Membership } from "./membership";

const orders: LocalService__Output = {
  endpoint: "127.0.0.1:50051",
  service: "conveyor.v1.Source",
  kind: "STAGE_KIND_SOURCE",
  stageName: "orders",
  version: "1",
  partitions: [],
};

function setup() {
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const membership = new Membership({ deadAfterMs: 3000, clock: () => now });
  membership.register({
    id: "a",
    podName: "pod-a",
    namespace: "default",
    peerAddress: "10.0.0.1:9091",
    services: [orders],
  });
  return { membership, clock };
}

describe("Membership", () => {
  it("marks a sidecar dead only after the deadline without a status message", () => {
    const { membership, clock } = setup();
    clock.advance(3000);
    expect(membership.sweep()).toEqual([]);
    expect(membership.get("a")?.state).toBe("alive");

    clock.advance(1);
    expect(membership.sweep().map((s) => s.id)).toEqual(["a"]);
    expect(membership.get("a")?.state).toBe("dead");
    // Dead sidecars are still listed, but not planned with.
    expect(membership.all().map((s) => s.id)).toEqual(["a"]);
    expect(membership.alive()).toEqual([]);
    // Reported once, not on every sweep.
    expect(membership.sweep()).toEqual([]);
  });

  it("declares a sidecar whose heartbeat stream broke dead after the grace, unless it comes back", () => {
    const { membership, clock } = setup();
    membership.streamLost("a", 1000);
    clock.advance(1000);
    expect(membership.sweep()).toEqual([]);
    clock.advance(1);
    expect(membership.sweep().map((s) => s.id)).toEqual(["a"]);

    // A sidecar that reconnects in time (register, then heartbeat) stays alive.
    membership.register({ id: "a", podName: "pod-a", namespace: "default", peerAddress: "x", services: [] });
    membership.streamLost("a", 1000);
    clock.advance(300);
    membership.heartbeat("a", { stages: [], sources: [], routingVersion: 0 });
    clock.advance(2000);
    expect(membership.sweep()).toEqual([]);
    expect(membership.get("a")?.state).toBe("alive");
  });

  it("keeps a heartbeating sidecar alive and revives a dead one", () => {
    const { membership, clock } = setup();
    clock.advance(2500);
    expect(membership.heartbeat("a", { stages: [], sources: [], routingVersion: 0 })).toEqual({
      joined: false,
      revived: false,
      servicesChanged: false,
      sourcesChanged: false,
      routingVersionChanged: false,
    });
    clock.advance(2500);
    expect(membership.sweep()).toEqual([]);

    clock.advance(3001);
    membership.sweep();
    expect(membership.get("a")?.state).toBe("dead");
    expect(membership.heartbeat("a", { stages: [], sources: [], routingVersion: 0 })?.revived).toBe(true);
    expect(membership.get("a")?.state).toBe("alive");
    expect(membership.get("a")?.lastHeartbeatMs).toBe(1_000_000 + 2500 + 2500 + 3001);
  });

  it("fences a sidecar that came back on an older table than the one that moved its stages, until it reports it", () => {
    const { membership, clock } = setup();
    membership.heartbeat("a", { stages: [], sources: [], routingVersion: 4 });
    clock.advance(3001);
    membership.sweep();
    // Back (re-registered) while the router is at table 6: its stages moved without it.
    membership.register({ id: "a", podName: "pod-a", namespace: "default", peerAddress: "", services: [] });
    membership.fenceRevived("a", 6);
    expect(membership.get("a")?.fence).toEqual({ sinceMs: 1_000_000 + 3001, untilVersion: 6 });
    membership.heartbeat("a", { stages: [], sources: [], routingVersion: 4 });
    expect(membership.get("a")?.fence?.untilVersion).toBe(6);
    membership.heartbeat("a", { stages: [], sources: [], routingVersion: 6 });
    expect(membership.get("a")?.fence).toBeUndefined();
    // A sidecar already on the current table is not fenced; its own pause fence is what it reports.
    membership.fenceRevived("a", 6);
    expect(membership.get("a")?.fence).toBeUndefined();
    membership.heartbeat("a", { stages: [], sources: [], routingVersion: 6, fenced: true });
    expect(membership.get("a")?.selfFenced).toBe(true);
    membership.heartbeat("a", { stages: [], sources: [], routingVersion: 7 });
    expect(membership.get("a")?.selfFenced).toBe(false);
  });

  it("keeps what a sidecar reads and its routing version, and says when they changed", () => {
    const { membership } = setup();
    const claim = { pipeline: "p", stage: "src", partitions: [0, 1], generation: 3 };
    expect(membership.heartbeat("a", { stages: [], sources: [claim], routingVersion: 3 })).toMatchObject({
      sourcesChanged: true,
      routingVersionChanged: true,
    });
    expect(membership.heartbeat("a", { stages: [], sources: [claim], routingVersion: 3 })).toMatchObject({
      sourcesChanged: false,
      routingVersionChanged: false,
    });
    expect(membership.get("a")).toMatchObject({ sources: [claim], routingVersion: 3 });
    // A re-registration keeps them until the next status says otherwise.
    membership.register({ id: "a", podName: "pa", namespace: "n", peerAddress: "x:1", services: [] });
    expect(membership.get("a")).toMatchObject({ sources: [claim], routingVersion: 3 });
    expect(
      membership.heartbeat("a", { stages: [], sources: [{ ...claim, partitions: [0] }], routingVersion: 3 }),
    ).toMatchObject({ sourcesChanged: true, routingVersionChanged: false });
  });

  it("revives a dead sidecar that registers again, replacing its data", () => {
    const { membership, clock } = setup();
    clock.advance(5000);
    membership.sweep();
    const change = membership.register({
      id: "a",
      podName: "pod-a2",
      namespace: "default",
      peerAddress: "10.0.0.9:9091",
      services: [],
    });
    expect(change).toEqual({ joined: false, revived: true });
    expect(membership.get("a")).toMatchObject({
      state: "alive",
      podName: "pod-a2",
      peerAddress: "10.0.0.9:9091",
      services: [],
    });
  });

  it("replaces services only when the status says they changed, and forgets unknown ids", () => {
    const { membership } = setup();
    membership.heartbeat("a", { stages: [], sources: [], routingVersion: 0 });
    expect(membership.get("a")?.services).toEqual([orders]);
    expect(
      membership.heartbeat("a", { services: [], stages: [], sources: [], routingVersion: 0 })
        ?.servicesChanged,
    ).toBe(true);
    expect(membership.get("a")?.services).toEqual([]);
    expect(membership.heartbeat("nobody", { stages: [], sources: [], routingVersion: 0 })).toBeUndefined();
    expect(membership.deregister("a")).toBe(true);
    expect(membership.has("a")).toBe(false);
    expect(membership.deregister("a")).toBe(false);
  });

  it("sweeps on a timer until stopped", () => {
    jest.useFakeTimers();
    try {
      const { membership, clock } = setup();
      const ticks: string[][] = [];
      membership.startSweeping(1000, (died) => ticks.push(died.map((s) => s.id)));
      clock.advance(4000);
      jest.advanceTimersByTime(2000);
      membership.stopSweeping();
      jest.advanceTimersByTime(5000);
      expect(ticks).toEqual([["a"], []]);
    } finally {
      jest.useRealTimers();
    }
  });
});
