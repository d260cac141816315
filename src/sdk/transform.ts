/**
 * serveTransform: a user Transform is one function from a batch of records to
 * one result per record. This file turns that function into the
 * conveyor.v1.Transform service (Describe + Process bidi stream of batches).
 *
 * Per input record the handler returns:
 *   a record (or a patch with at least `value`)  → mapped; missing fields come from the input
 *   an array of them                             → split; outputs without an id get `${input.id}/${i}`
 *   null or []                                   → filtered out
 *   an Error / StageError                        → that record failed (StageError decides retryable)
 */
import type { ProcessResponse } from "../generated/conveyor/v1/ProcessResponse";
import type { TransformHandlers } from "../generated/conveyor/v1/Transform";
import { SERVICE, v1 } from "../proto";
import { WIRE_CODECS, withCodecs } from "./wire";
import type { Record, TransformResult } from "../stages/contract";
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

/** An output record: a full Record, or only the fields that changed (value is required). */
export interface RecordPatch {
  id?: string;
  key?: Buffer | string;
  value: Buffer | string;
  headers?: { [key: string]: string };
  eventTimeMs?: number;
}

/** What a transform handler returns for one input record (see the table above). */
export type TransformOutput = RecordPatch | RecordPatch[] | null | Error;

export type TransformHandler = (records: Record[]) => TransformOutput[] | Promise<TransformOutput[]>;

/** Process uses the hand-written codecs (wire.ts): no proto-loader copies of the records. */
const TRANSFORM_SERVICE = withCodecs(v1.Transform.service, {
  Process: [WIRE_CODECS.ProcessRequest, WIRE_CODECS.ProcessResponse],
});

export async function serveTransform(
  port: number,
  handler: TransformHandler,
  options: StageOptions,
): Promise<StageServer> {
  const opts = resolveStageOptions(port, options);
  const log = createLogger("sdk", { stage: opts.name, kind: "transform" });
  const tracker = new StreamTracker();

  const implementation: TransformHandlers = {
    Describe: describeHandler(stageInfo("transform", opts)),
    Process: (call) =>
      pumpBatches(
        call,
        async (request): Promise<ProcessResponse> => ({
          batchId: request.batchId,
          results: await runTransform(handler, request.records),
        }),
        opts.maxInFlightBatches,
        tracker,
        log,
      ),
  };
  return startStageServer(
    port,
    opts,
    { name: SERVICE.transform, definition: TRANSFORM_SERVICE, implementation },
    tracker,
  );
}

/**
 * Calls the handler for one batch and converts its answer into exactly one
 * TransformResult per input record. Never rejects: a throwing handler fails
 * every record of the batch, a malformed answer fails them non-retryably.
 */
export async function runTransform(handler: TransformHandler, records: Record[]): Promise<TransformResult[]> {
  if (records.length === 0) return [];
  let outputs: TransformOutput[];
  try {
    outputs = await handler(records);
  } catch (err) {
    const error = toRecordError(err);
    return records.map(() => ({ records: [], error }));
  }
  if (!Array.isArray(outputs) || outputs.length !== records.length) {
    const got = Array.isArray(outputs) ? `${outputs.length} results` : typeof outputs;
    const error = contractError(
      `transform handler must return exactly one result per input record: got ${got} for ${records.length} records`,
    );
    return records.map(() => ({ records: [], error }));
  }
  return records.map((input, i) => toTransformResult(input, outputs[i]));
}

function toTransformResult(input: Record, output: TransformOutput | undefined): TransformResult {
  if (output === null || output === undefined) return { records: [], error: null };
  if (output instanceof Error) return { records: [], error: toRecordError(output) };
  if (Array.isArray(output)) {
    const records: Record[] = [];
    for (let i = 0; i < output.length; i++) {
      const r = fillFromInput(input, output[i], `${input.id}/${i}`);
      if (r === undefined) return { records: [], error: invalidOutput(input) };
      records.push(r);
    }
    return { records, error: null };
  }
  const r = fillFromInput(input, output, input.id);
  return r === undefined ? { records: [], error: invalidOutput(input) } : { records: [r], error: null };
}

function invalidOutput(input: Record) {
  return contractError(
    `transform output for record ${input.id} is not a record: value (Buffer or string) is required`,
  );
}

/** Missing fields are the input's, so `{ value }` alone is a complete map. */
function fillFromInput(input: Record, out: RecordPatch | undefined, defaultId: string): Record | undefined {
  if (typeof out !== "object" || out === null || !isBytes(out.value)) return undefined;
  return {
    id: out.id || defaultId,
    key: out.key === undefined ? input.key : toBuffer(out.key),
    value: toBuffer(out.value),
    headers: out.headers ?? input.headers,
    eventTimeMs: out.eventTimeMs ?? input.eventTimeMs,
  };
}

function isBytes(v: unknown): v is Buffer | string {
  return typeof v === "string" || v instanceof Uint8Array;
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === "string" ? Buffer.from(v, "utf8") : v;
}
