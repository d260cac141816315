import { Command } from "commander";
import { runDemo } from "../../demo/demo";

export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "Start a router and two simulated pods (127.0.0.2, 127.0.0.3) with sample stages, apply a pipeline, and show records flowing across the peer hop into a file. Ctrl-C stops everything.",
    )
    .option("--dir <dir>", "where the demo writes its output and logs", ".demo")
    .option("--rate <n>", "records per second from the generator", Number, 1000)
    .option("--duration <secs>", "stop by itself after this many seconds (0 = until Ctrl-C)", Number, 0)
    .option("--router-port <port>", "router port on 127.0.0.1", Number, 7070)
    .option("--sidecar-port <port>", "sidecar DataPlane port in each pod", Number, 9091)
    .action(
      async (o: { dir: string; rate: number; duration: number; routerPort: number; sidecarPort: number }) => {
        const abort = new AbortController();
        const onSignal = (): void => abort.abort();
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        const total = await runDemo({ ...o, durationSecs: o.duration }, abort.signal);
        process.exit(total > 0 ? 0 : 1);
      },
    );
}
