import { stageSummary } from "../../testing/stage-status";
import { formatStatus, type RouterStatus } from "./status";

describe("conveyor status (table)", () => {
  it("shows every stage's counters, dead letters, state and last error", () => {
    const status: RouterStatus = {
      pipelines: [
        { name: "orders", state: "ready", stages: ["gen", "check", "out", "dlq"], definitionJson: "" },
      ],
      sidecars: [],
      assignments: [],
      stages: [
        {
          name: "orders",
          state: "ready",
          stages: [
            stageSummary("check", 1, {
              sidecars: ["b"],
              recordsIn: 500,
              recordsOut: 440,
              errors: 120,
              lastError: "b: STAGE_FAILED: record gen-3 is poisoned\nsecond line",
              dlqCount: 60,
              rateIn: 52.2,
              rateOut: 46,
              inFlight: 12,
              p99Ms: 3.5,
              latencySamples: 400,
            }),
            stageSummary("out", 2, {
              kind: "STAGE_KIND_SINK",
              sidecars: ["b"],
              recordsIn: 440,
              recordsOut: 0,
              errors: 440,
              lastError: "",
              dlqCount: 0,
              state: "error",
            }),
          ],
        },
      ],
    };
    const text = formatStatus(status, 0);
    const lines = text.split("\n");
    const header = lines.findIndex((l) => l.startsWith("PIPELINE  STAGE"));
    expect(lines[header - 1]).toBe("STAGES");
    expect(lines[header]).toMatch(
      /^PIPELINE\s+STAGE\s+KIND\s+STATE\s+IN\/S\s+OUT\/S\s+IN\s+OUT\s+ERRORS\s+DLQ\s+IN-FLIGHT\s+P99\s+LAST-ERROR$/,
    );
    expect(lines[header + 1]).toMatch(
      /^orders\s+check\s+transform\s+running\s+52\.2\s+46\.0\s+500\s+440\s+120\s+60\s+12\s+3\.50ms\s+b: STAGE_FAILED: record gen-3 is poisoned second line$/,
    );
    expect(lines[header + 2]).toMatch(
      /^orders\s+out\s+sink\s+error\s+0\s+0\s+440\s+0\s+440\s+0\s+0\s+-\s+-$/,
    );
  });

  it("shows what is published, with the part a source hand-off still withholds marked pending", () => {
    const row = (
      sidecarId: string,
      partitions: number[],
      placement: string,
      pending: number[],
      from: string[],
    ) => ({
      pipeline: "orders",
      stage: "gen",
      stageIndex: 0,
      kind: "STAGE_KIND_SOURCE" as const,
      sidecarId,
      generation: 3,
      partitions,
      placement,
      pendingPartitions: pending,
      pendingFrom: from,
    });
    const status: RouterStatus = {
      pipelines: [],
      sidecars: [],
      stages: [],
      assignments: [
        row("a", [0, 1, 2, 3], "published", [], []),
        row("b", [], "intended", [2, 3], ["a"]),
        row("c", [1], "published", [0], ["a"]),
        row("d", [], "", [], []), // a router before the placement field
      ],
    };
    const lines = formatStatus(status, 0).split("\n");
    const header = lines.indexOf("ASSIGNMENTS") + 1;
    expect(lines[header]).toMatch(
      /^PIPELINE\s+STAGE\s+KIND\s+SIDECAR\s+GENERATION\s+PARTITIONS\s+PLACEMENT$/,
    );
    expect(lines.slice(header + 1, header + 5).map((l) => l.split(/\s{2,}/).slice(3))).toEqual([
      ["a", "3", "0,1,2,3", "published"],
      ["b", "3", "-", "intended (pending 2,3 from a)"],
      ["c", "3", "1", "published (pending 0 from a)"],
      ["d", "3", "-", "published"],
    ]);
  });
});
