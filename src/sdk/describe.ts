/**
 * What every SDK stage server shares: its options, the Describe handler, the
 * server start/stop (through startGrpcServer, so reflection and health are
 * always on), and the bounded batch pump used by Transform.Process and
 * Sink.Write.
 *
 *   request stream ──▶ pump (≤ maxInFlight batches, paused beyond) ──▶ handle(batch)
 *                                                                        │
 *   response stream ◀── write(response, batchId) in completion order ◀───┘
 */
import * as grpc from "@grpc/grpc-js";
import { ConveyorError, toGrpcStatus, type EdgeLogger } from "../errors";
import type { DescribeRequest__Output } from "../generated/conveyor/v1/DescribeRequest";
import type { StageInfo } from "../generated/conveyor/v1/StageInfo";
import { startGrpcServer, type ServiceBinding } from "../grpc/server";
import { STAGE_KIND_TO_PROTO, type StageKind } from "../stages/contract";
import type { Logger } from "../telemetry/log";
import { widenServerWindows } from "./flow-control";

export interface StageOptions {
  /** Describe().name: pipelines refer to the stage by this name. Required. */
  name: string;
  /** Interface to bind (default 127.0.0.1: the sidecar scans the pod's localhost). */
  host?: string;
  version?: string;
  labels?: { [key: string]: string };
  /** Batches handled concurrently per stream (default 16); bounds memory. */
  maxInFlightBatches?: number;
  /** Extra grpc server options (e.g. message size limits). */
  serverOptions?: grpc.ServerOptions;
}

export interface StageServer {
  /** host:port actually bound. */
  address: string;
  port: number;
  /** Ends open streams after their in-flight batches, then stops; forced after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_VERSION = "0.0.0";
export const DEFAULT_MAX_IN_FLIGHT_BATCHES = 16;

export interface ResolvedStageOptions {
  name: string;
  host: string;
  version: string;
  labels: { [key: string]: string };
  maxInFlightBatches: number;
  serverOptions: grpc.ServerOptions;
}

/** Validates options once, at start-up, with a clear error instead of a broken Describe later. */
export function resolveStageOptions(port: number, opts: StageOptions): ResolvedStageOptions {
  if (typeof opts?.name !== "string" || opts.name.trim() === "") {
    throw new ConveyorError(
      "CONFIG_INVALID",
      "stage options: name is required (it is what pipelines refer to)",
      {
        field: "name",
      },
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConveyorError("CONFIG_INVALID", `stage ${opts.name}: port must be an integer 0..65535`, {
      field: "port",
      actual: port,
    });
  }
  const maxInFlightBatches = opts.maxInFlightBatches ?? DEFAULT_MAX_IN_FLIGHT_BATCHES;
  if (!Number.isInteger(maxInFlightBatches) || maxInFlightBatches < 1) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `stage ${opts.name}: maxInFlightBatches must be a positive integer`,
      {
        field: "maxInFlightBatches",
        actual: maxInFlightBatches,
      },
    );
  }
  return {
    name: opts.name,
    host: opts.host ?? DEFAULT_HOST,
    version: opts.version ?? DEFAULT_VERSION,
    labels: { ...(opts.labels ?? {}) },
    maxInFlightBatches,
    serverOptions: opts.serverOptions ?? {},
  };
}

export function stageInfo(kind: StageKind, opts: ResolvedStageOptions, partitions: number[] = []): StageInfo {
  return {
    name: opts.name,
    kind: STAGE_KIND_TO_PROTO[kind],
    version: opts.version,
    labels: opts.labels,
    partitions,
  };
}

/** The Describe handler every stage service serves. */
export function describeHandler(info: StageInfo): grpc.handleUnaryCall<DescribeRequest__Output, StageInfo> {
  return (_call, callback) => callback(null, info);
}

/**
 * Open streams of one server, so stop() can end them gracefully: an open bidi
 * stream would otherwise hold tryShutdown until the forced deadline.
 */
export class StreamTracker {
  private readonly drains = new Set<() => void>();
  private stopping = false;

  /** Registers a stream's drain function; returns the unregister function. */
  add(drain: () => void): () => void {
    if (this.stopping) {
      drain();
      return () => undefined;
    }
    this.drains.add(drain);
    return () => this.drains.delete(drain);
  }

  drainAll(): void {
    this.stopping = true;
    for (const drain of [...this.drains]) drain();
    this.drains.clear();
  }
}

/** Starts a gRPC server for one stage service; stop() drains tracked streams first. */
export async function startStageServer(
  port: number,
  opts: ResolvedStageOptions,
  binding: ServiceBinding,
  tracker: StreamTracker,
): Promise<StageServer> {
  const running = await startGrpcServer(opts.host, port, [binding], opts.serverOptions);
  widenServerWindows(running.server);
  return {
    address: running.address,
    port: running.port,
    stop: async (graceMs = 5000) => {
      tracker.drainAll();
      await running.stop(graceMs);
    },
  };
}

/** Ends a server stream with an error status (the client sees code + details). */
export function failStream<Req, Res>(
  call: grpc.ServerDuplexStream<Req, Res>,
  err: unknown,
  log?: EdgeLogger,
): void {
  call.emit("error", toGrpcStatus(err, log));
}

/**
 * Serves a bidi stream of batches: each request is handled as soon as it
 * arrives, up to maxInFlight at once (the request stream is paused beyond
 * that, so a fast client cannot make us buffer without limit); responses are
 * written as they complete and carry their batch id, so order does not matter.
 * `handle` must turn user failures into results; if it rejects, that is a bug
 * in the SDK and the stream ends with INTERNAL.
 */
export function pumpBatches<Req, Res>(
  call: grpc.ServerDuplexStream<Req, Res>,
  handle: (request: Req) => Promise<Res>,
  maxInFlight: number,
  tracker: StreamTracker,
  log: Logger,
): void {
  let inFlight = 0;
  let inputEnded = false;
  let draining = false;
  let closed = false;

  const close = (finish: () => void): void => {
    if (closed) return;
    closed = true;
    untrack();
    finish();
  };
  const finishIfIdle = (): void => {
    if (!inputEnded || inFlight > 0) return;
    close(() => {
      if (draining) failStream(call, new ConveyorError("SHUTTING_DOWN", "stage server is stopping"));
      else call.end();
    });
  };
  const untrack = tracker.add(() => {
    // Stop taking batches; the ones already read are answered before the stream ends.
    draining = true;
    inputEnded = true;
    call.pause();
    finishIfIdle();
  });

  call.on("data", (request: Req) => {
    if (closed || draining) return;
    inFlight++;
    if (inFlight >= maxInFlight) call.pause();
    handle(request).then(
      (response) => {
        if (closed) return;
        call.write(response, () => {
          inFlight--;
          if (!draining && inFlight < maxInFlight) call.resume();
          finishIfIdle();
        });
      },
      (err: unknown) => {
        // Logged in full (with the reference the client sees) by failStream.
        const bug = new ConveyorError("INTERNAL", `stage SDK bug: ${String(err)}`, {}, { cause: err });
        close(() => failStream(call, bug, log));
      },
    );
  });
  call.on("end", () => {
    inputEnded = true;
    finishIfIdle();
  });
  call.on("cancelled", () => close(() => undefined));
}
