/**
 * conveyor.v1.Router: how sidecars join, stay alive and receive commands.
 *
 *   Register ─▶ membership.register ─▶ re-plan ─▶ {heartbeatIntervalMs, generation}
 *   Heartbeat (bidi)
 *     first status (sidecar_id) ─ unknown id ─▶ NOT_FOUND "unknown sidecar <id>; register first"
 *                               └ known ─────▶ the current routing table
 *     every status ─▶ liveness; services_changed ─▶ re-plan; stages kept for GetPipelineStatus;
 *                     sources (what it reads) changed while a hand-off waits ─▶ re-plan
 *     every later commit that changes the table ─▶ the whole new table on this stream
 *   Deregister ─▶ forget the sidecar now ─▶ re-plan
 */
import * as grpc from "@grpc/grpc-js";
import type { Auth } from "../src/grpc/auth";
import { checkSidecarIdentity } from "../src/grpc/identity";
import type { ServiceBinding } from "../src/grpc/server";
import { SERVICE, v1 } from "../src/proto";
import { ConveyorError, toGrpcStatus } from "../src/errors";
import type { RouterHandlers } from "../src/generated/conveyor/v1/Router";
import type { RoutingTable } from "../src/generated/conveyor/v1/RoutingTable";
import type { SidecarStatus__Output } from "../src/generated/conveyor/v1/SidecarStatus";
import type { Logger } from "../src/telemetry/log";
import type { Membership } from "./membership";
import type { Connection, Scheduler } from "./scheduler";

export interface HeartbeatServerOptions {
  scheduler: Scheduler;
  membership: Membership;
  heartbeatIntervalMs: number;
  /** Set: a sidecar may act only as the sidecar its certificate names. */
  auth?: Auth;
  log: Logger;
}

/** A refusal status when the caller may not act as this sidecar (none when it may). */
function refusedAs(
  auth: Auth | undefined,
  call: Parameters<Auth["callerOf"]>[0] & { getPath(): string },
  claimed: { sidecarId: string; namespace?: string },
): { code: grpc.status; details: string } | undefined {
  if (!auth) return undefined;
  const decision = checkSidecarIdentity(auth.callerOf(call), claimed, auth.policy);
  return decision.allowed ? undefined : auth.refuse(call.getPath(), decision, call.getPeer());
}

export interface RouterService {
  binding: ServiceBinding;
  /** Ends every open heartbeat stream with OK (router shutdown), attached or not. */
  closeStreams(): void;
}

export function routerService(options: HeartbeatServerOptions): RouterService {
  const { scheduler, membership, heartbeatIntervalMs, log } = options;
  const open = new Set<HeartbeatStream>();

  const handlers: RouterHandlers = {
    Register(call, callback) {
      const req = call.request;
      const refused = refusedAs(options.auth, call, { sidecarId: req.sidecarId, namespace: req.namespace });
      if (refused) return callback(refused);
      Promise.resolve()
        .then(async () => {
          if (req.sidecarId === "")
            throw new ConveyorError("PROTOCOL_VIOLATION", "Register needs a sidecar_id");
          const change = membership.register({
            id: req.sidecarId,
            podName: req.podName,
            namespace: req.namespace,
            peerAddress: req.peerAddress,
            services: req.services,
          });
          const fields = {
            sidecar: req.sidecarId,
            pod: req.podName,
            peerAddress: req.peerAddress,
            services: req.services.length,
          };
          if (change.joined) log.info(fields, "sidecar joined");
          else if (change.revived) {
            membership.fenceRevived(req.sidecarId, scheduler.generation);
            log.info(fields, "sidecar is back (re-registered after being dead)");
          } else log.info(fields, "sidecar re-registered");
          await scheduler.replan(`sidecar ${req.sidecarId} registered`);
          return { heartbeatIntervalMs, generation: scheduler.generation };
        })
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            log.warn({ err, sidecar: req.sidecarId }, "Register failed");
            callback(toGrpcStatus(err));
          },
        );
    },

    Heartbeat(call) {
      const stream = new HeartbeatStream(call, options, () => open.delete(stream));
      open.add(stream);
      stream.start();
    },

    Deregister(call, callback) {
      const id = call.request.sidecarId;
      const refused = refusedAs(options.auth, call, { sidecarId: id });
      if (refused) return callback(refused);
      Promise.resolve()
        .then(async () => {
          scheduler.detachSidecar(id);
          if (membership.deregister(id)) {
            log.info({ sidecar: id }, "sidecar left (deregistered)");
            await scheduler.replan(`sidecar ${id} deregistered`);
          }
          return {};
        })
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            log.warn({ err, sidecar: id }, "Deregister failed");
            callback(toGrpcStatus(err));
          },
        );
    },
  };

  return {
    binding: { name: SERVICE.router, definition: v1.Router.service, implementation: handlers },
    closeStreams: () => {
      for (const stream of [...open]) stream.close();
    },
  };
}

type HeartbeatCall = grpc.ServerDuplexStream<SidecarStatus__Output, RoutingTable>;

/** One sidecar's heartbeat stream: the handshake, liveness, and the command channel. */
class HeartbeatStream implements Connection {
  private id: string | undefined;
  /** attach() was asked for (it runs once per stream, after the first status). */
  private attached = false;
  private closed = false;

  constructor(
    private readonly call: HeartbeatCall,
    private readonly options: HeartbeatServerOptions,
    private readonly onClosed: () => void,
  ) {}

  get sidecarId(): string {
    return this.id ?? "";
  }

  start(): void {
    this.call.on("data", (status: SidecarStatus__Output) => this.onStatus(status));
    // The sidecar's side ended: it is going away or reconnecting. Liveness decides the rest,
    // but a sidecar that does not come back within one interval is gone (membership.ts).
    const lost = (): void => {
      if (!this.closed && this.id !== undefined)
        this.options.membership.streamLost(this.id, this.options.heartbeatIntervalMs);
      this.finish();
    };
    this.call.on("end", lost);
    this.call.on("cancelled", lost);
    this.call.on("error", (err: Error) => {
      if (!this.closed) this.options.log.debug({ err, sidecar: this.id }, "heartbeat stream broke");
      lost();
    });
  }

  send(table: RoutingTable): void {
    if (this.closed) return;
    this.call.write(table);
  }

  close(): void {
    this.finish();
  }

  private onStatus(status: SidecarStatus__Output): void {
    if (this.closed) return;
    const { membership, scheduler, log } = this.options;
    if (this.id === undefined) {
      if (status.sidecarId === "") {
        this.fail(
          toGrpcStatus(
            new ConveyorError("PROTOCOL_VIOLATION", "the first heartbeat message must carry sidecar_id"),
          ),
        );
        return;
      }
      const refused = refusedAs(this.options.auth, this.call, { sidecarId: status.sidecarId });
      if (refused) {
        this.fail(refused);
        return;
      }
      this.id = status.sidecarId;
    } else if (status.sidecarId !== "" && status.sidecarId !== this.id) {
      this.fail(
        toGrpcStatus(
          new ConveyorError(
            "PROTOCOL_VIOLATION",
            `this stream belongs to sidecar ${this.id}, not ${status.sidecarId}`,
          ),
        ),
      );
      return;
    }

    const id = this.id;
    const change = membership.heartbeat(id, {
      ...(status.servicesChanged ? { services: status.services } : {}),
      stages: status.stages,
      sources: status.sources,
      routingVersion: status.routingVersion,
      fenced: status.fenced,
    });
    if (change === undefined) {
      // Not a ConveyorError: the sidecar reacts to the status code by registering again.
      this.fail({ code: grpc.status.NOT_FOUND, details: `unknown sidecar ${id}; register first` });
      return;
    }
    if (change.revived) {
      membership.fenceRevived(id, scheduler.generation);
      log.info({ sidecar: id }, "sidecar is back (heartbeat after being dead)");
    }
    if (change.revived || change.servicesChanged) {
      scheduler.requestReplan(
        change.revived ? `sidecar ${id} is back` : `sidecar ${id} reported new services`,
      );
    } else if (scheduler.handoffsWaiting && (change.sourcesChanged || change.routingVersionChanged)) {
      scheduler.requestReplan(`sidecar ${id} reported what it reads`);
    }
    if (!this.attached) {
      this.attached = true;
      // Queued after the re-plan above, so the full state already includes it.
      scheduler.attach(this).then(
        () => {
          if (this.closed) scheduler.detach(this);
          else log.debug({ sidecar: id }, "heartbeat stream attached");
        },
        (err: unknown) => this.fail(toGrpcStatus(err)),
      );
    }
  }

  /** Ends the stream with an error status. */
  private fail(status: { code: grpc.status; details: string; metadata?: grpc.Metadata }): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    this.options.scheduler.detach(this);
    this.options.log.debug(
      { sidecar: this.id, code: status.code, details: status.details },
      "heartbeat stream rejected",
    );
    this.call.emit("error", status);
  }

  /** Ends the stream with OK (idempotent). */
  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    this.options.scheduler.detach(this);
    if (!this.call.cancelled && this.call.writable) this.call.end();
  }
}
