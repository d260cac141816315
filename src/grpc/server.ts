/**
 * Every gRPC server the project starts goes through here, so that each one
 * serves server reflection (v1 and v1alpha, listing only what it serves) and
 * grpc.health.v1 — `grpcurl -plaintext host:port list` works on every port —
 * and, when the process has security configured (security.ts), serves TLS
 * and checks every call's credentials before its handler runs (auth.ts).
 */
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { CHANNEL_OPTIONS, SERVICE } from "../proto";
import { addReflection } from "./reflection";
import type { Auth } from "./auth";

/** TLS credentials of the port and the auth interceptor; plaintext and open without. */
export interface ServerSecurity {
  serverCredentials: grpc.ServerCredentials;
  auth?: Auth;
}

export interface ServiceBinding {
  /** Fully-qualified name, e.g. conveyor.v1.Transform. */
  name: string;
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export interface RunningServer {
  server: grpc.Server;
  /** host:port actually bound (port 0 resolved). */
  address: string;
  port: number;
  health: HealthImplementation;
  /** Graceful stop; forced after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(
  host: string,
  port: number,
  services: ServiceBinding[],
  options: grpc.ServerOptions = {},
  security?: ServerSecurity,
): Promise<RunningServer> {
  const interceptors = [
    ...(options.interceptors ?? []),
    ...(security?.auth ? [security.auth.interceptor] : []),
  ];
  const server = new grpc.Server({ ...CHANNEL_OPTIONS, ...options, interceptors });
  for (const s of services) server.addService(s.definition, s.implementation);

  const names = services.map((s) => s.name);
  addReflection(server, [...names, SERVICE.health]);
  const health = new HealthImplementation({
    "": "SERVING",
    ...Object.fromEntries(names.map((n) => [n, "SERVING"])),
  });
  health.addToServer(server);

  const bindHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${bindHost}:${port}`,
      security?.serverCredentials ?? grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  return {
    server,
    address: `${host}:${boundPort}`,
    port: boundPort,
    health,
    stop: (graceMs = 5000) => stopServer(server, graceMs),
  };
}

export function stopServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
