/**
 * The CLI's way to talk to a sidecar's DataPlane (GetRoutes, Inject): a deadline on every call and
 * errors as ConveyorErrors — a sidecar that cannot be reached is PEER_UNAVAILABLE, said in one line.
 */
import * as grpc from "@grpc/grpc-js";
import { ConveyorError, fromGrpcError } from "../errors";
import type { DataPlaneClient } from "../generated/conveyor/v1/DataPlane";
import type { InjectRecord } from "../generated/conveyor/v1/InjectRecord";
import type { InjectResponse__Output } from "../generated/conveyor/v1/InjectResponse";
import type { RoutingTable__Output } from "../generated/conveyor/v1/RoutingTable";
import { CHANNEL_OPTIONS, deadlineIn, v1 } from "../proto";
import { reason } from "./admin-client";
import { PLAINTEXT, type ClientConnection } from "./client-credentials";

export const DEFAULT_GET_ROUTES_TIMEOUT_MS = 5000;

type Invoke<T> = (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => void;

export class DataPlaneApi {
  private readonly client: DataPlaneClient;

  constructor(
    readonly address: string,
    connection: ClientConnection = PLAINTEXT,
  ) {
    this.client = new v1.DataPlane(address, connection.credentials, {
      ...CHANNEL_OPTIONS,
      interceptors: connection.interceptors,
    });
  }

  getRoutes(timeoutMs = DEFAULT_GET_ROUTES_TIMEOUT_MS): Promise<RoutingTable__Output> {
    return this.call(timeoutMs, (o, cb) => this.client.GetRoutes({}, o, cb));
  }

  /** Resolves once the sidecar confirmed every record durable (at the sink or the dead-letter sink). */
  inject(
    pipeline: string,
    stage: string,
    records: InjectRecord[],
    timeoutMs: number,
  ): Promise<InjectResponse__Output> {
    return this.call(timeoutMs, (o, cb) => this.client.Inject({ pipeline, stage, records }, o, cb));
  }

  close(): void {
    this.client.close();
  }

  private call<T>(timeoutMs: number, invoke: Invoke<T>): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      invoke({ deadline: deadlineIn(timeoutMs) }, (err, value) => {
        if (err) reject(this.toError(err));
        else if (value === undefined)
          reject(new ConveyorError("INTERNAL", "the sidecar answered without a response"));
        else resolve(value);
      }),
    );
  }

  private toError(err: grpc.ServiceError): ConveyorError {
    if (err.code === grpc.status.UNAVAILABLE && !err.metadata?.get("conveyor-error-code").length) {
      return new ConveyorError(
        "PEER_UNAVAILABLE",
        `sidecar ${this.address} is unreachable: ${reason(err)}`,
        { address: this.address, grpcCode: err.code },
        { cause: err },
      );
    }
    return fromGrpcError(err);
  }
}
