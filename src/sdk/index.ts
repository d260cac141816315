/**
 * The Conveyor stage SDK: write a Source, Transform or Sink in a few lines and
 * the sidecar in the same pod discovers it by reflection.
 *
 *   const server = await serveTransform(50052, async (records) => records.map((r) => ({ value: r.value })), {
 *     name: "enrich",
 *   });
 *   await server.stop();
 */
export { serveTransform, runTransform } from "./transform";
export type { RecordPatch, TransformHandler, TransformOutput } from "./transform";
export { serveSink, runSink } from "./sink";
export type { SinkHandler, SinkOutcome } from "./sink";
export { serveSource, generatorSource, generatorRecord } from "./source";
export type {
  GeneratorOptions,
  SourceContext,
  SourceHandler,
  SourceOptions,
  SourceReadRequest,
  SourceReadResult,
} from "./source";
export { StageError, toRecordError } from "./stage-error";
export type { StageErrorOptions } from "./stage-error";
export type { StageOptions, StageServer } from "./describe";
export { makeRecord } from "../records";
export type { Record, RecordError } from "../stages/contract";
