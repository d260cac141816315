/** The router's gRPC port (Router + Admin), for a single router and a cluster member alike. */
import type { RouterConfig } from "../src/config/env";
import { ConveyorError } from "../src/errors";
import {
  startGrpcServer,
  type RunningServer,
  type ServerSecurity,
  type ServiceBinding,
} from "../src/grpc/server";

export interface RunningRouter {
  /** host:port of the Router + Admin services (port 0 resolved). */
  address: string;
  stop(): Promise<void>;
}

/** The gRPC server of the Router and Admin services, or a start-up error naming the address. */
export async function listen(
  config: RouterConfig,
  services: ServiceBinding[],
  security?: ServerSecurity,
): Promise<RunningServer> {
  return startGrpcServer(config.host, config.port, services, {}, security).catch((err: unknown) => {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `router cannot listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}`,
      { host: config.host, port: config.port },
      { cause: err },
    );
  });
}
