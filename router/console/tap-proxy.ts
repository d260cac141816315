/**
 * /api/tap: the router opens DataPlane.Tap on every live sidecar running the stage and relays the
 * sampled records as server-sent events (`record`, and `end` when every tap ended). The page sees
 * what grpcurl sees, with the sidecar that saw each record. Each tap ends after `max` records, or
 * when the HTTP client goes away.
 */
import type * as http from "node:http";
import * as grpc from "@grpc/grpc-js";
import type { DataPlaneClient } from "../../src/generated/conveyor/v1/DataPlane";
import type { Record__Output } from "../../src/generated/conveyor/v1/Record";
import { CHANNEL_OPTIONS, v1 } from "../../src/proto";
import type { ConsoleTapRecord } from "./api-types";
import { sendEvent } from "./sse";

export const VALUE_PREVIEW_CHARS = 200;

export interface TapTarget {
  sidecarId: string;
  peerAddress: string;
}

export function tapRecord(sidecarId: string, r: Record__Output): ConsoleTapRecord {
  const text = r.value.toString("utf8");
  return {
    sidecarId,
    id: r.id,
    key: r.key.toString("utf8"),
    headers: r.headers,
    valuePreview: text.length > VALUE_PREVIEW_CHARS ? `${text.slice(0, VALUE_PREVIEW_CHARS)}…` : text,
    valueBytes: r.value.length,
    eventTimeMs: r.eventTimeMs,
  };
}

/** Streams the taps to `res` (already set up for SSE) until they end or the client leaves. */
export function proxyTap(
  res: http.ServerResponse,
  targets: readonly TapTarget[],
  request: { pipeline: string; stage: string; max: number; sampleEvery: number },
): void {
  const clients: DataPlaneClient[] = [];
  const calls: grpc.ClientReadableStream<Record__Output>[] = [];
  let open = targets.length;
  const finish = (): void => {
    for (const c of calls) c.cancel();
    for (const c of clients) c.close();
  };
  res.on("close", finish);
  if (open === 0) {
    sendEvent(res, "end", { reason: `no live sidecar runs stage "${request.stage}"` });
    res.end();
    return;
  }
  for (const t of targets) {
    const client = new v1.DataPlane(t.peerAddress, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    clients.push(client);
    const call = client.Tap({
      pipeline: request.pipeline,
      stage: request.stage,
      maxRecords: request.max,
      sampleEvery: request.sampleEvery,
    });
    calls.push(call);
    call.on("data", (r: Record__Output) => sendEvent(res, "record", tapRecord(t.sidecarId, r)));
    const ended = (err?: grpc.ServiceError): void => {
      if (err && err.code !== grpc.status.CANCELLED)
        sendEvent(res, "tap-error", { sidecarId: t.sidecarId, message: err.details || err.message });
      if (--open === 0) {
        sendEvent(res, "end", { reason: "every tap ended" });
        res.end();
      }
    };
    call.on("error", ended);
    call.on("end", () => ended());
  }
}
