import { stageStatus } from "../../src/testing/stage-status";
import type { SidecarRecord } from "../membership";
import { mirrorsOf, sidecarState } from "./overview";

function sidecar(fields: Partial<SidecarRecord>): SidecarRecord {
  return {
    id: "a",
    podName: "pod-a",
    namespace: "default",
    peerAddress: "",
    services: [],
    stages: [],
    sources: [],
    routingVersion: 5,
    lastHeartbeatMs: 1000,
    state: "alive",
    selfFenced: false,
    ...fields,
  };
}

describe("console overview", () => {
  it("carries each live sidecar's mirrors with lag and flush age; unknown figures (-1, 0) are null", () => {
    const mirrors = [
      {
        name: "orders",
        topic: "t",
        partition: 0,
        sourceHigh: 120,
        destNext: 100,
        lastFlushMs: 9_000,
        state: "running",
        error: "",
      },
      {
        name: "orders",
        topic: "t",
        partition: 1,
        sourceHigh: -1,
        destNext: -1,
        lastFlushMs: 0,
        state: "starting",
        error: "",
      },
    ];
    const byId = new Map([
      ["a", sidecar({ stages: [stageStatus({ pipeline: "p", stage: "src", mirrors })] })],
      [
        "b",
        sidecar({ id: "b", state: "dead", stages: [stageStatus({ pipeline: "p", stage: "src", mirrors })] }),
      ],
    ]);
    const got = mirrorsOf("p", "src", [{ sidecarId: "a" }, { sidecarId: "b" }], byId, 10_000);
    expect(got).toEqual([
      {
        sidecarId: "a",
        name: "orders",
        topic: "t",
        partition: 0,
        sourceHigh: 120,
        destNext: 100,
        lag: 20,
        lastFlushAgeMs: 1000,
        state: "running",
        error: "",
      },
      {
        sidecarId: "a",
        name: "orders",
        topic: "t",
        partition: 1,
        sourceHigh: null,
        destNext: null,
        lag: null,
        lastFlushAgeMs: null,
        state: "starting",
        error: "",
      },
    ]);
    expect(mirrorsOf("p", "other", [{ sidecarId: "a" }], byId, 10_000)).toEqual([]);
  });

  it("says fenced, and why, for a sidecar back on an old table or with its pause fence up; dead wins", () => {
    expect(sidecarState(sidecar({}))).toEqual({ state: "alive", reason: "", sinceMs: null });
    const back = sidecarState(sidecar({ fence: { sinceMs: 500, untilVersion: 7 } }));
    expect(back.state).toBe("fenced");
    expect(back.reason).toContain("presumed dead");
    expect(back.reason).toContain("v7");
    expect(back.sinceMs).toBe(500);
    const paused = sidecarState(sidecar({ selfFenced: true }));
    expect(paused).toMatchObject({ state: "fenced", sinceMs: 1000 });
    expect(paused.reason).toContain("pause fence");
    expect(sidecarState(sidecar({ state: "dead", selfFenced: true })).state).toBe("dead");
  });
});
