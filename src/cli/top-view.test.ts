import { stageSummary as stage } from "../testing/stage-status";
import type { RouterStatus } from "./commands/status";
import { renderTop, sortRows, topRows } from "./top-view";

const status: RouterStatus = {
  pipelines: [{ name: "p", state: "ready", stages: ["gen", "check"], definitionJson: "" }],
  sidecars: [
    {
      sidecarId: "a",
      podName: "pa",
      namespace: "d",
      peerAddress: "",
      services: [],
      lastHeartbeatMs: 0,
      state: "alive",
      routingVersion: 7,
    },
    {
      sidecarId: "b",
      podName: "pb",
      namespace: "d",
      peerAddress: "",
      services: [],
      lastHeartbeatMs: 0,
      state: "dead",
      routingVersion: 6,
    },
  ],
  assignments: [],
  stages: [
    {
      name: "p",
      state: "ready",
      stages: [
        stage("gen", 0, { kind: "STAGE_KIND_SOURCE", rateIn: 10, rateOut: 10 }),
        stage("check", 1, {
          sidecars: ["a", "b"],
          rateIn: 200,
          errors: 3,
          errorRate: 0.5,
          p99Ms: 12,
          latencySamples: 9,
          peerShare: 0.5,
        }),
      ],
    },
  ],
};

describe("conveyor top view", () => {
  it("sorts by a key, by name otherwise", () => {
    expect(sortRows(topRows(status), "name").map((r) => r.stage.stage)).toEqual(["gen", "check"]);
    expect(sortRows(topRows(status), "in").map((r) => r.stage.stage)).toEqual(["check", "gen"]);
    expect(sortRows(topRows(status), "errors")[0]!.stage.stage).toBe("check");
  });

  it("renders rates, p99, peer share and the table versions of the stage's sidecars", () => {
    const lines = renderTop(status, "in", "r:1", new Date(0), 200);
    expect(lines[0]).toContain("1/2 sidecars alive");
    const check = lines.find((l) => l.startsWith("p ") && l.includes("check"))!;
    expect(check).toMatch(
      /check\s+transform\s+200\s+0\s+0B\s+3 \(0\.5\/s\)\s+0\s+0\s+12ms\s+50%\s+2\s+v6-v7$/,
    );
    expect(lines[lines.length - 1]).toContain("sort: in");
    expect(renderTop(status, "in", "r:1", new Date(0), 20).every((l) => l.length <= 20)).toBe(true);
  });
});
