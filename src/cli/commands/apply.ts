/**
 * `conveyor apply <file>`: validates a pipeline locally (every problem listed,
 * exit 1), then sends it to the router's Admin API.
 *
 *   applied pipeline orders-enrich (created, generation 7)     → stdout
 *
 * What is sent is the definition as validated here — ${VAR} resolved from this
 * shell's environment — so the router applies exactly what was checked.
 * Exit status: 0 applied; 1 invalid (locally or by the router); 2 router unreachable.
 */
import { Command } from "commander";
import { loadPipelineFile, type PipelineSpec } from "../../config/pipeline";
import { asConveyorError, ConveyorError } from "../../errors";
import type { ClientSecurityConfig } from "../../config/env";
import { AdminApi, DEFAULT_ADMIN_TIMEOUT_MS, routerAddress } from "../admin-client";
import { clientConnection, withClientSecurity } from "../client-credentials";

interface ApplyOptions extends ClientSecurityConfig {
  router?: string;
}

export function applyCommand(): Command {
  return withClientSecurity(new Command("apply"))
    .description("validate a pipeline file (YAML or JSON) and apply it on the router")
    .argument("<file>", "pipeline definition")
    .option("--router <host:port>", "router Admin address (default: $CONVEYOR_ROUTER or 127.0.0.1:7070)")
    .action(async function (this: Command, file: string, options: ApplyOptions) {
      let spec: PipelineSpec;
      try {
        spec = loadPipelineFile(file);
      } catch (err) {
        this.error(`conveyor apply: ${describeInvalid(err, file)}`, {
          exitCode: 1,
          code: "conveyor.apply.invalid",
        });
      }
      const api = new AdminApi(
        routerAddress(options.router),
        DEFAULT_ADMIN_TIMEOUT_MS,
        clientConnection(options),
      );
      try {
        const res = await api.applyPipeline({ definition: JSON.stringify(spec) });
        process.stdout.write(
          `applied pipeline ${res.name} (${res.created ? "created" : "updated"}, generation ${res.generation})\n`,
        );
      } catch (err) {
        const e = asConveyorError(err);
        const unreachable = e.code === "ROUTER_UNAVAILABLE";
        this.error(`conveyor apply: ${e.message}`, {
          exitCode: unreachable ? 2 : 1,
          code: unreachable ? "conveyor.apply.unreachable" : "conveyor.apply.rejected",
        });
      } finally {
        api.close();
      }
    });
}

/** The file's problems, one per line; a file that cannot be read is one problem. */
function describeInvalid(err: unknown, file: string): string {
  if (!(err instanceof ConveyorError)) return `${file}: ${err instanceof Error ? err.message : String(err)}`;
  const problems = err.details.problems;
  if (Array.isArray(problems) && problems.length > 0) {
    return `${file} is invalid:\n${problems.map((p) => `  - ${String(p)}`).join("\n")}`;
  }
  return err.message;
}
