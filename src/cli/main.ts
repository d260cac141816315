#!/usr/bin/env node
/** The `conveyor` CLI: one command per file in ./commands. */
import { exitWithParent } from "./signals";
import { Command } from "commander";
import { routerCommand } from "./commands/router";
import { sidecarCommand } from "./commands/sidecar";
import { validateCommand } from "./commands/validate";
import { applyCommand } from "./commands/apply";
import { statusCommand } from "./commands/status";
import { demoCommand } from "./commands/demo";
import { mirrorCommand } from "../builtins/mirror/cli";
import { relayCommand } from "../builtins/relay/cli";
import { slingCommand } from "../builtins/sling/cli";

exitWithParent();

const program = new Command("conveyor")
  .description("gRPC sidecar data plane for streaming pipelines")
  .version("0.1.0")
  .showHelpAfterError()
  .addCommand(routerCommand())
  .addCommand(sidecarCommand())
  .addCommand(validateCommand())
  .addCommand(applyCommand())
  .addCommand(statusCommand())
  .addCommand(demoCommand())
  .addCommand(mirrorCommand())
  .addCommand(relayCommand());
program.addCommand(slingCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`conveyor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
