/**
 * serveSink: a user Sink is one function that makes a batch of records
 * durable. This file turns it into the conveyor.v1.Sink service (Describe +
 * Write bidi stream of batches).
 *
 * The handler resolves to:
 *   void / undefined              → every record is durable
 *   an array, one entry per record → null/undefined = durable, Error/StageError = that record failed
 * and if it throws, every record of the batch gets that error.
 */
import type { SinkHandlers } from "../generated/conveyor/v1/Sink";
import type { WriteResponse } from "../generated/conveyor/v1/WriteResponse";
import { SERVICE, v1 } from "../proto";
import { WIRE_CODECS, withCodecs } from "./wire";
import type { Record, RecordError, WriteResult } from "../stages/contract";
import { createLogger } from "../telemetry/log";
import {
  describeHandler,
  pumpBatches,
  resolveStageOptions,
  stageInfo,
  startStageServer,
  StreamTracker,
  type StageOptions,
  type StageServer,
} from "./describe";
import { contractError, toRecordError } from "./stage-error";

export type SinkOutcome = Error | null | undefined;

export type SinkHandler = (records: Record[]) => void | SinkOutcome[] | Promise<void | SinkOutcome[]>;

/** Write uses the hand-written codecs (wire.ts): no proto-loader copies of the records. */
const SINK_SERVICE = withCodecs(v1.Sink.service, {
  Write: [WIRE_CODECS.WriteRequest, WIRE_CODECS.WriteResponse],
});

export async function serveSink(
  port: number,
  handler: SinkHandler,
  options: StageOptions,
): Promise<StageServer> {
  const opts = resolveStageOptions(port, options);
  const log = createLogger("sdk", { stage: opts.name, kind: "sink" });
  const tracker = new StreamTracker();

  const implementation: SinkHandlers = {
    Describe: describeHandler(stageInfo("sink", opts)),
    Write: (call) =>
      pumpBatches(
        call,
        async (request): Promise<WriteResponse> => ({
          batchId: request.batchId,
          results: await runSink(handler, request.records),
        }),
        opts.maxInFlightBatches,
        tracker,
        log,
      ),
  };
  return startStageServer(
    port,
    opts,
    { name: SERVICE.sink, definition: SINK_SERVICE, implementation },
    tracker,
  );
}

/**
 * Calls the handler for one batch and converts its answer into one
 * WriteResult per input record. Never rejects. Anything that is not clearly
 * "durable" is reported as an error, never as success: a wrong answer must not
 * let the source ack records that were not written.
 */
export async function runSink(handler: SinkHandler, records: Record[]): Promise<WriteResult[]> {
  if (records.length === 0) return [];
  let outcomes: void | SinkOutcome[];
  try {
    outcomes = await handler(records);
  } catch (err) {
    const error = toRecordError(err);
    return records.map((r) => ({ id: r.id, error }));
  }
  if (outcomes === undefined) return records.map((r) => ({ id: r.id, error: null }));
  if (!Array.isArray(outcomes) || outcomes.length !== records.length) {
    const got = Array.isArray(outcomes) ? `${outcomes.length} results` : typeof outcomes;
    const error = contractError(
      `sink handler must resolve to nothing or one result per input record: got ${got} for ${records.length} records`,
    );
    return records.map((r) => ({ id: r.id, error }));
  }
  return records.map((r, i) => ({ id: r.id, error: outcomeError(r, outcomes[i]) }));
}

function outcomeError(record: Record, outcome: unknown): RecordError | null {
  if (outcome === null || outcome === undefined) return null;
  if (outcome instanceof Error) return toRecordError(outcome);
  return contractError(
    `sink result for record ${record.id} must be null (durable) or an Error, got ${typeof outcome}`,
  );
}
