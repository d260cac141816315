import { Command } from "commander";
import { checkSidecarConfig, sidecarOptions, type SidecarConfig } from "../../config/env";
import { startSidecar } from "../../../sidecar/main";
import { runUntilSignal } from "../signals";

export function sidecarCommand(): Command {
  const cmd = new Command("sidecar").description(
    "Run a sidecar: discover this pod's stage services, register with the router, move records. Flags override env vars.",
  );
  for (const o of sidecarOptions()) cmd.addOption(o);
  return cmd.action(async (opts: SidecarConfig) => {
    const sidecar = await startSidecar(checkSidecarConfig(opts));
    await runUntilSignal(() => sidecar.stop());
  });
}
