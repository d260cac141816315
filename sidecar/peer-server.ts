/**
 * conveyor.v1.DataPlane, served by every sidecar: the peer Forward hop (with
 * credits) and the debugging calls that make grpcurl useful.
 */
import type * as grpc from "@grpc/grpc-js";
import { ConveyorError, asConveyorError, redactAtEdge, toGrpcStatus, type EdgeLogger } from "../src/errors";
import { fastServices } from "./fast-codec";
import { recordFromInject, recordSize } from "../src/records";
import type { Auth } from "../src/grpc/auth";
import type { ServiceBinding } from "../src/grpc/server";
import type { DataPlaneHandlers } from "../src/generated/conveyor/v1/DataPlane";
import type { ForwardAck } from "../src/generated/conveyor/v1/ForwardAck";
import type { ForwardBatch__Output } from "../src/generated/conveyor/v1/ForwardBatch";
import type { LocalService__Output } from "../src/generated/conveyor/v1/LocalService";
import type { Record } from "../src/stages/contract";
import type { Logger } from "../src/telemetry/log";
import { metrics } from "../src/telemetry/metrics";
import {
  SpanKind,
  type RecordSpans,
  inTraceOf,
  startEntrySpans,
  startStepSpans,
  tracingOn,
} from "../src/telemetry/tracing";
import { context } from "@opentelemetry/api";
import type { Forwarder } from "./forwarder";
import type { RoutingTable } from "./routing-table";
import type { Taps } from "./taps";

/** Batches a peer may have in flight on one Forward stream. */
export const FORWARD_WINDOW = 64;

export interface PeerServerDeps {
  forwarder: Forwarder;
  taps: Taps;
  localServices(): LocalService__Output[];
  lastScanMs(): number;
  /** False while draining: new batches are refused (retryable) so peers go elsewhere. */
  accepting(): boolean;
  /** Counts refusals of batches for stages not placed here (the interceptor checks the caller). */
  auth?: Auth;
  log: Logger;
}

/** Rejects records over the pipeline's maxRecordBytes with a clear error. */
export function checkRecordSizes(table: RoutingTable, pipeline: string, records: Record[]): void {
  const max = table.pipeline(pipeline).settings.maxRecordBytes;
  for (const r of records) {
    const size = recordSize(r);
    if (size > max) {
      throw new ConveyorError(
        "RECORD_TOO_LARGE",
        `record ${r.id} is ${size} bytes; pipeline "${pipeline}" allows ${max}`,
        {
          pipeline,
          recordId: r.id,
          size,
          max,
        },
      );
    }
  }
}

/**
 * The fence of a peer hop: a batch is delivered only when the sender routed it
 * with the same generation of the pipeline's routes as this sidecar has. An
 * older sender may be a zombie whose stage has moved; a newer one knows of a
 * change this sidecar has not heard of yet (it may not even have the stage).
 * Both are refused retryably, never acked: the sender retries once the tables
 * agree (a live sidecar gets each table within moments).
 */
export function checkGeneration(table: RoutingTable, batch: { pipeline: string; generation: number }): void {
  const mine = table.hasPipeline(batch.pipeline) ? table.pipeline(batch.pipeline).generation : 0;
  if (batch.generation < mine) {
    throw new ConveyorError(
      "STALE_GENERATION",
      `batch for pipeline "${batch.pipeline}" routed on generation ${batch.generation}; this sidecar is at ${mine}`,
    );
  }
  if (batch.generation > mine) {
    throw new ConveyorError(
      "TABLE_BEHIND",
      `batch for pipeline "${batch.pipeline}" routed on generation ${batch.generation}; this sidecar's table ` +
        `(v${table.version}) is at ${mine} and will catch up`,
      { pipeline: batch.pipeline },
    );
  }
}

/**
 * A peer may forward only to a stage the router placed on this sidecar: the
 * receiver's own table says so. Run after checkGeneration, so sender and
 * receiver route on the same generation and an honest sender never hits it.
 */
export function checkPlacedHere(table: RoutingTable, batch: { pipeline: string; stageIndex: number }): void {
  const stage = table.hasPipeline(batch.pipeline)
    ? table.stageAt(batch.pipeline, batch.stageIndex)
    : undefined;
  if (stage?.local === undefined)
    throw new ConveyorError(
      "STAGE_NOT_PLACED",
      `stage ${batch.stageIndex} of pipeline "${batch.pipeline}" is not placed on this sidecar (table v${table.version})`,
      { pipeline: batch.pipeline, stageIndex: batch.stageIndex },
    );
}

/**
 * The ack of a batch that failed here: its code, whether it may be retried (the
 * code's row of the table) and its message, an INTERNAL one redacted like at
 * any other edge.
 */
export function forwardAckOf(batchId: number, err: ConveyorError, log?: EdgeLogger): ForwardAck {
  const e = redactAtEdge(err, log);
  return { batchId, credits: 1, error: e.message, code: e.code, retryable: e.retryable };
}

export function dataPlaneService(deps: PeerServerDeps): ServiceBinding {
  const { forwarder, log } = deps;

  const handlers: DataPlaneHandlers = {
    Forward(call) {
      call.write({ batchId: 0, credits: FORWARD_WINDOW });
      call.on("data", (batch: ForwardBatch__Output) => {
        void handleForward(batch).then((ack) => {
          if (!call.cancelled && call.writable) call.write(ack);
        });
      });
      call.on("end", () => call.end());
      call.on("error", (err) => log.debug({ err: err.message }, "forward stream from peer closed"));
    },

    Inject(call, callback) {
      const { pipeline, stage, records } = call.request;
      void (async () => {
        const table = forwarder.table;
        const index = stage ? table.stageByName(pipeline, stage).index : 1;
        if (index === 0)
          throw new ConveyorError(
            "STAGE_NOT_FOUND",
            `cannot inject into source stage "${stage}"; name a later stage`,
          );
        const converted = records.map((r, i) => recordFromInject(r, i));
        checkRecordSizes(table, pipeline, converted);
        // An entry point: sampled here, parent-based on the record's own traceparent or the call's trace.
        const traced = tracingOn()
          ? startEntrySpans(
              converted,
              `inject ${pipeline}`,
              { ...forwarder.spanAttributes, "conveyor.pipeline": pipeline, "conveyor.stage.index": index },
              context.active(),
            )
          : undefined;
        let outcome;
        try {
          outcome = await forwarder.deliver(pipeline, index, converted, table);
        } catch (err) {
          const e = asConveyorError(err);
          traced?.end({ code: e.code, message: e.message, retryable: e.retryable });
          throw err;
        }
        traced?.end();
        return {
          delivered: outcome.written,
          filtered: outcome.filtered,
          deadLettered: outcome.deadLettered,
          ids: converted.map((r) => r.id),
        };
      })().then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = asConveyorError(err);
          metrics.inputRejected.labels("inject", e.code).inc();
          log.warn({ pipeline, stage, code: e.code, err: e.message }, "inject failed");
          callback(toGrpcStatus(e, log));
        },
      );
    },

    GetRoutes(_call, callback) {
      callback(null, forwarder.table.toProto());
    },

    ListLocalServices(_call, callback) {
      callback(null, { services: deps.localServices(), scannedAtMs: deps.lastScanMs() });
    },

    Tap(call) {
      const { pipeline, stage } = call.request;
      const max = call.request.maxRecords || 100;
      const every = Math.max(1, call.request.sampleEvery);
      try {
        forwarder.table.stageByName(pipeline, stage);
      } catch (err) {
        call.emit("error", toGrpcStatus(err, log));
        return;
      }
      let seen = 0;
      let sent = 0;
      const remove = deps.taps.add(pipeline, stage, (records) => {
        for (const r of records) {
          if (seen++ % every !== 0) continue;
          call.write(r);
          if (++sent >= max) {
            remove();
            call.end();
            return;
          }
        }
      });
      call.on("cancelled", remove);
      call.on("close", remove);
    },
  };

  async function handleForward(batch: ForwardBatch__Output): Promise<ForwardAck> {
    let traced: RecordSpans | undefined;
    try {
      if (!deps.accepting()) throw new ConveyorError("SHUTTING_DOWN", "sidecar is draining");
      const table = forwarder.table;
      checkGeneration(table, batch);
      checkPlacedHere(table, batch);
      const stage = table.stageAt(batch.pipeline, batch.stageIndex);
      traced =
        tracingOn() && stage
          ? startStepSpans(
              batch.records,
              `receive ${stage.name}`,
              SpanKind.CONSUMER,
              {
                ...forwarder.stageAttributes(stage),
                "conveyor.batch.id": batch.batchId,
                "conveyor.peer.sender": batch.senderId,
              },
              true,
            )
          : undefined;
      const outcome = await forwarder.deliver(batch.pipeline, batch.stageIndex, batch.records, table);
      traced?.end();
      return { batchId: batch.batchId, credits: 1, ...outcome };
    } catch (err) {
      const e = asConveyorError(err);
      traced?.end({ code: e.code, message: e.message, retryable: e.retryable });
      metrics.inputRejected.labels("forward", e.code).inc();
      if (e.code === "STAGE_NOT_PLACED")
        deps.auth?.count(
          "/conveyor.v1.DataPlane/Forward",
          { code: "PERMISSION_DENIED", reason: "stage_not_placed", message: e.message },
          batch.senderId,
        );
      inTraceOf(batch.records, () =>
        log.warn(
          {
            pipeline: batch.pipeline,
            stageIndex: batch.stageIndex,
            from: batch.senderId,
            firstRecordId: batch.records[0]?.id,
            code: e.code,
            err: e.message,
          },
          "forwarded batch failed",
        ),
      );
      return forwardAckOf(batch.batchId, e, log);
    }
  }

  return {
    name: "conveyor.v1.DataPlane",
    definition: fastServices.dataPlane,
    implementation: handlers as unknown as grpc.UntypedServiceImplementation,
  };
}
