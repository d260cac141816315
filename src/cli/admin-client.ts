/**
 * The CLI's way to talk to the router's Admin API: one client, a deadline on
 * every call, and errors as ConveyorErrors — a router that cannot be reached
 * is ROUTER_UNAVAILABLE, so that commands can say so in one line.
 */
import * as grpc from "@grpc/grpc-js";
import { ConveyorError, fromGrpcError } from "../errors";
import type { AdminClient } from "../generated/conveyor/v1/Admin";
import type { ApplyPipelineRequest } from "../generated/conveyor/v1/ApplyPipelineRequest";
import type { ApplyPipelineResponse__Output } from "../generated/conveyor/v1/ApplyPipelineResponse";
import type { ListAssignmentsResponse__Output } from "../generated/conveyor/v1/ListAssignmentsResponse";
import type { ListPipelinesResponse__Output } from "../generated/conveyor/v1/ListPipelinesResponse";
import type { ListSidecarsResponse__Output } from "../generated/conveyor/v1/ListSidecarsResponse";
import type { PipelineStatus__Output } from "../generated/conveyor/v1/PipelineStatus";
import { CHANNEL_OPTIONS, deadlineIn, v1 } from "../proto";
import { PLAINTEXT, type ClientConnection } from "./client-credentials";

export const DEFAULT_ROUTER_ADDRESS = "127.0.0.1:7070";
export const DEFAULT_ADMIN_TIMEOUT_MS = 5000;

/** --router, else CONVEYOR_ROUTER, else the default local router. */
export function routerAddress(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env.CONVEYOR_ROUTER;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : DEFAULT_ROUTER_ADDRESS;
}

type Invoke<T> = (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => void;

export class AdminApi {
  private readonly client: AdminClient;

  constructor(
    readonly address: string,
    private readonly timeoutMs: number = DEFAULT_ADMIN_TIMEOUT_MS,
    connection: ClientConnection = PLAINTEXT,
  ) {
    this.client = new v1.Admin(address, connection.credentials, {
      ...CHANNEL_OPTIONS,
      interceptors: connection.interceptors,
    });
  }

  applyPipeline(req: ApplyPipelineRequest): Promise<ApplyPipelineResponse__Output> {
    return this.call((o, cb) => this.client.ApplyPipeline(req, o, cb));
  }

  deletePipeline(name: string): Promise<{ deleted: boolean }> {
    return this.call((o, cb) => this.client.DeletePipeline({ name }, o, cb));
  }

  listPipelines(): Promise<ListPipelinesResponse__Output> {
    return this.call((o, cb) => this.client.ListPipelines({}, o, cb));
  }

  listSidecars(): Promise<ListSidecarsResponse__Output> {
    return this.call((o, cb) => this.client.ListSidecars({}, o, cb));
  }

  listAssignments(pipeline = ""): Promise<ListAssignmentsResponse__Output> {
    return this.call((o, cb) => this.client.ListAssignments({ pipeline }, o, cb));
  }

  getPipelineStatus(name: string): Promise<PipelineStatus__Output> {
    return this.call((o, cb) => this.client.GetPipelineStatus({ name }, o, cb));
  }

  close(): void {
    this.client.close();
  }

  private call<T>(invoke: Invoke<T>): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      invoke({ deadline: deadlineIn(this.timeoutMs) }, (err, value) => {
        if (err) reject(this.toError(err));
        else if (value === undefined)
          reject(new ConveyorError("INTERNAL", "the router answered without a response"));
        else resolve(value);
      }),
    );
  }

  private toError(err: grpc.ServiceError): ConveyorError {
    if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
      return new ConveyorError(
        "ROUTER_UNAVAILABLE",
        `router ${this.address} is unreachable: ${reason(err)}`,
        { address: this.address, grpcCode: err.code },
        { cause: err },
      );
    }
    return fromGrpcError(err);
  }
}

/** The useful part of grpc-js's connection error ("connect ECONNREFUSED 127.0.0.1:7070"). */
export function reason(err: grpc.ServiceError): string {
  const details = err.details || grpc.status[err.code];
  const last = /Last error: (?:Error: )?(.*?)(?:\.? Resolution note:.*)?$/s.exec(details);
  return last?.[1] ?? details;
}

/** Applies one pipeline definition (YAML or JSON) to the router at `address`, then closes the client. */
export async function applyPipeline(
  address: string,
  definition: string,
  connection: ClientConnection = PLAINTEXT,
): Promise<void> {
  const api = new AdminApi(address, DEFAULT_ADMIN_TIMEOUT_MS, connection);
  try {
    await api.applyPipeline({ definition });
  } finally {
    api.close();
  }
}
