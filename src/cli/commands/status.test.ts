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
            {
              stage: "check",
              stageIndex: 1,
              kind: "STAGE_KIND_TRANSFORM",
              sidecars: ["b"],
              recordsIn: 500,
              recordsOut: 440,
              errors: 120,
              lastError: "b: STAGE_FAILED: record gen-3 is poisoned\nsecond line",
              dlqCount: 60,
              state: "running",
            },
            {
              stage: "out",
              stageIndex: 2,
              kind: "STAGE_KIND_SINK",
              sidecars: ["b"],
              recordsIn: 440,
              recordsOut: 0,
              errors: 440,
              lastError: "",
              dlqCount: 0,
              state: "error",
            },
          ],
        },
      ],
    };
    const text = formatStatus(status, 0);
    const lines = text.split("\n");
    const header = lines.findIndex((l) => l.startsWith("PIPELINE  STAGE"));
    expect(lines[header - 1]).toBe("STAGES");
    expect(lines[header]).toMatch(/^PIPELINE\s+STAGE\s+KIND\s+STATE\s+IN\s+OUT\s+ERRORS\s+DLQ\s+LAST-ERROR$/);
    expect(lines[header + 1]).toMatch(
      /^orders\s+check\s+transform\s+running\s+500\s+440\s+120\s+60\s+b: STAGE_FAILED: record gen-3 is poisoned second line$/,
    );
    expect(lines[header + 2]).toMatch(/^orders\s+out\s+sink\s+error\s+440\s+0\s+440\s+0\s+-$/);
  });
});
