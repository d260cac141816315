#!/usr/bin/env node
/**
 * The `conveyor` CLI: one command per file in ./commands (and the built-ins' cli.ts). Only the command
 * being run is loaded; the others are listed by name and summary (./commands.ts).
 */
// First: V8's code cache for all that follows (Node >= 22.1).
import "./compile-cache";
// Then: when an OTLP endpoint is set, the gRPC instrumentation must hook @grpc/grpc-js before any
// module requires it (nothing above this line does; commands load lazily).
import { initTracing } from "../telemetry/tracing-init";
import { exitWithParent } from "./signals";
import { Command } from "commander";
import { COMMANDS, requestedCommand } from "./commands";

try {
  initTracing(requestedCommand(process.argv)?.name);
} catch (err) {
  process.stderr.write(`conveyor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

exitWithParent();

const program = new Command("conveyor")
  .description("gRPC sidecar data plane for streaming pipelines")
  .version("0.1.0")
  .showHelpAfterError();
const requested = requestedCommand(process.argv);
for (const entry of COMMANDS)
  program.addCommand(entry === requested ? entry.load() : new Command(entry.name).summary(entry.summary));

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`conveyor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
