/**
 * `conveyor top`: pipelines × stages with the router's one-minute figures, refreshed in place like
 * `vector top` (alternate screen; `q` or Ctrl-C quits; n/i/o/e/d/f/l sort). When stdout is not a
 * terminal it prints the table with a timestamp every interval instead (for logs and pipes).
 * Exit status 2 when the router cannot be reached at the start.
 */
import { Command } from "commander";
import { asConveyorError } from "../../errors";
import type { ClientSecurityConfig } from "../../config/env";
import { AdminApi, DEFAULT_ADMIN_TIMEOUT_MS, routerAddress } from "../admin-client";
import { clientConnection, withClientSecurity } from "../client-credentials";
import { SORT_KEYS, renderTop, type TopSortKey } from "../top-view";
import { fetchStatus, type RouterStatus } from "./status";

interface TopOptions extends ClientSecurityConfig {
  router?: string;
  interval: number;
  sort: TopSortKey;
}

const SORTS = new Set<string>(SORT_KEYS.map(([, v]) => v));

export function topCommand(): Command {
  return withClientSecurity(new Command("top"))
    .description("live per-stage rates, errors, dead letters, in-flight and p99 (q quits)")
    .option("--router <host:port>", "router Admin address (default: $CONVEYOR_ROUTER or 127.0.0.1:7070)")
    .option("--interval <secs>", "seconds between refreshes", Number, 1)
    .option("--sort <key>", `initial sort: ${[...SORTS].join(" | ")}`, "name")
    .action(async function (this: Command, o: TopOptions) {
      if (!SORTS.has(o.sort)) this.error(`conveyor top: --sort must be one of ${[...SORTS].join(", ")}`);
      const router = routerAddress(o.router);
      const api = new AdminApi(router, DEFAULT_ADMIN_TIMEOUT_MS, clientConnection(o));
      let status: RouterStatus;
      try {
        status = await fetchStatus(api);
      } catch (err) {
        api.close();
        const e = asConveyorError(err);
        this.error(`conveyor top: ${e.message}`, { exitCode: e.code === "ROUTER_UNAVAILABLE" ? 2 : 1 });
      }
      const intervalMs = Math.max(0.2, o.interval) * 1000;
      await (process.stdout.isTTY && process.stdin.isTTY
        ? interactive(api, router, status, o.sort, intervalMs)
        : plain(api, router, status, o.sort, intervalMs));
      api.close();
    });
}

async function plain(
  api: AdminApi,
  router: string,
  first: RouterStatus,
  sort: TopSortKey,
  intervalMs: number,
): Promise<void> {
  let status = first;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  while (!stopped) {
    process.stdout.write(renderTop(status, sort, router, new Date(), Infinity).join("\n") + "\n\n");
    await new Promise((r) => setTimeout(r, intervalMs));
    if (stopped) break;
    status = await fetchStatus(api).catch((err: unknown) => {
      process.stderr.write(`conveyor top: ${asConveyorError(err).message}\n`);
      return status;
    });
  }
}

function interactive(
  api: AdminApi,
  router: string,
  first: RouterStatus,
  initialSort: TopSortKey,
  intervalMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    let status = first;
    let sort = initialSort;
    let problem = "";
    const out = process.stdout;
    const draw = (): void => {
      const lines = renderTop(status, sort, router, new Date(), out.columns ?? 120);
      if (problem) lines.push(problem.slice(0, out.columns ?? 120));
      const rows = out.rows ?? 40;
      // Home, then each line with the rest of it cleared, then clear below: no flicker.
      out.write(
        `\x1b[H${lines
          .slice(0, rows)
          .map((l) => `${l}\x1b[K`)
          .join("\n")}\x1b[J`,
      );
    };
    const refresh = async (): Promise<void> => {
      try {
        status = await fetchStatus(api);
        problem = "";
      } catch (err) {
        problem = `router unreachable: ${asConveyorError(err).message}`;
      }
      if (!done) draw();
    };
    let done = false;
    const timer = setInterval(() => void refresh(), intervalMs);
    const quit = (): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      process.stdin.off("data", onKey);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      out.off("resize", draw);
      out.write("\x1b[?25h\x1b[?1049l");
      resolve();
    };
    const onKey = (data: Buffer): void => {
      const key = data.toString("utf8");
      if (key === "q" || key === "Q" || key === "\u0003") return quit();
      const next = SORT_KEYS.find(([k]) => k === key.toLowerCase());
      if (next) {
        sort = next[1];
        draw();
      }
    };
    out.write("\x1b[?1049h\x1b[?25l");
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", onKey);
    out.on("resize", draw);
    process.once("SIGTERM", quit);
    draw();
  });
}
