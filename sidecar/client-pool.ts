/**
 * One channel per endpoint (user services in this pod, peer sidecars), reused
 * by every client and stream to it. Channels to stage services use
 * STAGE_CHANNEL_OPTIONS (keepalive every 6 minutes, which gRPC servers in any
 * language accept); channels to peer sidecars CHANNEL_OPTIONS (every 30 s). A channel is evicted when a stream on it
 * breaks (the next use dials afresh) and when it has been idle for idleMs.
 *
 * After a certificate rotation (renewPeers) every peer channel is retired: the
 * next batch to a peer dials a new connection, which handshakes with the new
 * certificate; the retired one closes once its batches are answered (or after
 * RETIRE_GRACE_MS, when what is left fails retryably and is sent again).
 */
import * as grpc from "@grpc/grpc-js";
import { CHANNEL_OPTIONS, STAGE_CHANNEL_OPTIONS } from "../src/proto";
import { FLOW_CONTROL_CHANNEL_OPTIONS } from "../src/sdk/flow-control";
import { ConveyorError } from "../src/errors";
import type { Logger } from "../src/telemetry/log";
import type { SourceClient } from "../src/generated/conveyor/v1/Source";
import type { TransformClient } from "../src/generated/conveyor/v1/Transform";
import type { SinkClient } from "../src/generated/conveyor/v1/Sink";
import type { DataPlaneClient } from "../src/generated/conveyor/v1/DataPlane";
import { FastClients } from "./fast-codec";
import { BatchStream } from "./batch-stream";
import { GrpcSinkStage, GrpcTransformStage, PeerForwardClient } from "./stage-clients";

/** How long a retired peer channel may finish its batches in flight. */
export const RETIRE_GRACE_MS = 30_000;

interface Entry {
  channel: grpc.Channel;
  lastUsedMs: number;
  objects: Map<string, { close(): void }>;
}

export interface ClientPoolOptions {
  idleMs: number;
  /** Per-batch deadline for stage streams, unless the call gives its own (the pipeline's stageTimeoutMs). */
  batchTimeoutMs: number;
  /**
   * Per-batch deadline of a peer hop: it covers everything downstream of the
   * peer, retries and backoff included, so it is longer than a stage's.
   */
  peerTimeoutMs: number;
  log: Logger;
  /** Credentials of channels to peer sidecars (TLS/mTLS when configured; stage services stay plaintext). */
  peerCredentials?: grpc.ChannelCredentials;
  /** Client interceptors of peer calls (the registration token, when configured). */
  peerInterceptors?: grpc.Interceptor[];
  /** Told when a stream to an endpoint broke (e.g. to rescan the pod's ports). */
  onEndpointFailed?(endpoint: string, err: ConveyorError): void;
}

export class ClientPool {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly opts: ClientPoolOptions) {
    this.sweeper = setInterval(() => this.evictIdle(), Math.max(1000, opts.idleMs / 2));
    this.sweeper.unref();
  }

  transform(endpoint: string, name: string): GrpcTransformStage {
    return this.object(endpoint, `transform:${name}`, (channel) => {
      const client = new FastClients.Transform(endpoint, grpc.credentials.createInsecure(), {
        channelOverride: channel,
      }) as unknown as TransformClient;
      return new GrpcTransformStage(
        new BatchStream({
          name: `transform "${name}" at ${endpoint}`,
          open: () => client.process(),
          batchIdOf: (r) => r.batchId,
          timeoutMs: this.opts.batchTimeoutMs,
          window: 32,
          onBroken: (err) => this.failed(endpoint, err),
        }),
        client,
      );
    });
  }

  sink(endpoint: string, name: string): GrpcSinkStage {
    return this.object(endpoint, `sink:${name}`, (channel) => {
      const client = new FastClients.Sink(endpoint, grpc.credentials.createInsecure(), {
        channelOverride: channel,
      }) as unknown as SinkClient;
      return new GrpcSinkStage(
        new BatchStream({
          name: `sink "${name}" at ${endpoint}`,
          open: () => client.write(),
          batchIdOf: (r) => r.batchId,
          timeoutMs: this.opts.batchTimeoutMs,
          window: 32,
          onBroken: (err) => this.failed(endpoint, err),
        }),
        client,
      );
    });
  }

  peer(address: string, selfId: string): PeerForwardClient {
    return this.object(
      address,
      "peer",
      (channel) => {
        const client = new FastClients.DataPlane(address, grpc.credentials.createInsecure(), {
          channelOverride: channel,
          interceptors: this.opts.peerInterceptors ?? [],
        }) as unknown as DataPlaneClient;
        return new PeerForwardClient(
          new BatchStream({
            name: `peer sidecar at ${address}`,
            open: () => client.forward(),
            batchIdOf: (a) => a.batchId,
            creditsOf: (a) => a.credits,
            timeoutMs: this.opts.peerTimeoutMs,
            window: "granted",
            onBroken: (err) => this.failed(address, err),
          }),
          client,
          selfId,
        );
        // A peer is a sidecar, our own server: fast keepalive. Stage services may be any gRPC server.
      },
      CHANNEL_OPTIONS,
      this.opts.peerCredentials,
    );
  }

  /** A Source client; the caller owns the Read stream it opens. */
  source(endpoint: string): SourceClient {
    return this.object(
      endpoint,
      "source",
      (channel) =>
        new FastClients.Source(endpoint, grpc.credentials.createInsecure(), {
          channelOverride: channel,
        }) as unknown as SourceClient,
    );
  }

  /**
   * New TLS certificates: peer channels are replaced so that established
   * connections, too, end up on the new certificate (HTTP/2 keeps the one it
   * was made with). Nothing in flight is cut: a retired channel closes when
   * its batches are answered.
   */
  renewPeers(): void {
    const retired: Entry[] = [];
    for (const [endpoint, e] of this.entries) {
      if (!e.objects.has("peer")) continue;
      this.entries.delete(endpoint);
      retired.push(e);
    }
    if (retired.length === 0) return;
    this.opts.log.info({ peers: retired.length }, "certificates rotated: new connections to every peer");
    const until = Date.now() + RETIRE_GRACE_MS;
    const closeWhenIdle = (): void => {
      const busy = retired.filter((e) =>
        [...e.objects.values()].some((o) => o instanceof PeerForwardClient && o.inFlight > 0),
      );
      for (const e of retired.filter((r) => !busy.includes(r))) this.closeEntry(e);
      retired.splice(0, retired.length, ...busy);
      if (retired.length === 0) return;
      if (Date.now() >= until) for (const e of retired.splice(0)) this.closeEntry(e);
      else setTimeout(closeWhenIdle, 50).unref();
    };
    closeWhenIdle();
  }

  private closeEntry(e: Entry): void {
    for (const o of e.objects.values()) o.close();
    e.channel.close();
  }

  /** Closes the endpoint's channel and everything on it; the next use dials again. */
  evict(endpoint: string): void {
    const e = this.entries.get(endpoint);
    if (!e) return;
    this.entries.delete(endpoint);
    this.closeEntry(e);
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const endpoint of [...this.entries.keys()]) this.evict(endpoint);
  }

  private object<T extends { close(): void }>(
    endpoint: string,
    key: string,
    create: (channel: grpc.Channel) => T,
    options: grpc.ChannelOptions = STAGE_CHANNEL_OPTIONS,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ): T {
    let e = this.entries.get(endpoint);
    if (!e) {
      e = {
        // Wide HTTP/2 windows: a batch or a source read travels without WINDOW_UPDATE round trips.
        channel: new grpc.Channel(endpoint, credentials, {
          ...options,
          ...FLOW_CONTROL_CHANNEL_OPTIONS,
          // Its own connection: with grpc-js's global subchannel pool a renewed channel would
          // share the retired one's connection, and keep its old certificate (renewPeers).
          "grpc.use_local_subchannel_pool": 1,
        }),
        lastUsedMs: Date.now(),
        objects: new Map(),
      };
      this.entries.set(endpoint, e);
    }
    e.lastUsedMs = Date.now();
    let o = e.objects.get(key) as T | undefined;
    if (!o) {
      o = create(e.channel);
      e.objects.set(key, o);
    }
    return o;
  }

  private failed(endpoint: string, err: ConveyorError): void {
    this.opts.log.warn(
      { endpoint, err: err.message, code: err.code },
      "stream to endpoint broke; evicting its channel",
    );
    this.evict(endpoint);
    this.opts.onEndpointFailed?.(endpoint, err);
  }

  private evictIdle(): void {
    const cutoff = Date.now() - this.opts.idleMs;
    for (const [endpoint, e] of this.entries) {
      if (e.lastUsedMs < cutoff) {
        this.opts.log.debug({ endpoint }, "closing idle channel");
        this.evict(endpoint);
      }
    }
  }
}
