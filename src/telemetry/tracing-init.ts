/* eslint-disable @typescript-eslint/no-require-imports -- the SDK loads only when tracing is configured */
/**
 * Starts OpenTelemetry for this process when the environment configures an OTLP endpoint
 * (src/config/otel-env.ts), and does nothing else otherwise: no SDK module is even loaded. Called first
 * thing by src/cli/main.ts, before any module requires @grpc/grpc-js, so that the gRPC instrumentation's
 * require hook patches it.
 */
import { tracingSettings } from "../config/otel-env";
import type { TracingSdk } from "./tracing-sdk";

let sdk: TracingSdk | undefined;

/** `command`: the CLI command run, for the default service name (conveyor-sidecar, conveyor-router…). */
export function initTracing(command: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const settings = tracingSettings(env, command ? `conveyor-${command}` : "conveyor");
  if (!settings) return false;
  const { startTracingSdk } = require("./tracing-sdk") as typeof import("./tracing-sdk");
  sdk = startTracingSdk(settings);
  return true;
}

/** Exports the spans still buffered (on shutdown); bounded by `timeoutMs`. */
export async function shutdownTracing(timeoutMs = 3000): Promise<void> {
  await sdk?.shutdown(timeoutMs);
}
