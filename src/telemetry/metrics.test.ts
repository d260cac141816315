import { execFileSync } from "node:child_process";
import { toolPath } from "../testing/tools";
import { metrics, registry } from "./metrics";

describe("the /metrics page", () => {
  it("passes `promtool check metrics` with every metric of the project registered", async () => {
    // Touch labelled metrics so their series (not only HELP/TYPE) are on the page.
    metrics.stageRecordsIn.labels("p", "s").inc();
    metrics.deadLettered.labels("p", "s").inc();
    metrics.hopDuration.labels("p", "s", "local").observe(0.01);
    metrics.stageQueueWait.labels("p", "s").observe(0.001);
    metrics.stageBatchRecords.labels("p", "s").observe(100);
    metrics.pipelineLatency.labels("p").observe(0.2);
    metrics.sourceLag.labels("p", "s").set(42);
    const page = await registry.metrics();
    // promtool prints nothing and exits 0 when the page is clean; execFileSync throws otherwise.
    const out = execFileSync(toolPath("promtool"), ["check", "metrics"], { input: page, encoding: "utf8" });
    expect(out).toBe("");
    expect(page).toContain("conveyor_dlq_records_total");
    for (const name of [
      "conveyor_stage_queue_wait_seconds_bucket",
      "conveyor_stage_batch_records_bucket",
      "conveyor_pipeline_latency_seconds_bucket",
      "conveyor_source_lag_records",
    ])
      expect(page).toContain(name);
  });
});
