/**
 * The web console: the page (bundled into dist/console by scripts/build.sh) and its JSON /api
 * (docs/console.md) on the router's --http-port.
 *
 *   GET  /                                   the page (index.html, app.js, app.css)
 *   GET  /api/overview                       pipelines, stages, pods, rates, sidecars (ConsoleOverview)
 *   GET  /api/events                         the overview as server-sent events, once a second
 *   GET  /api/pipelines/<name>/status        Admin.GetPipelineStatus as JSON
 *   GET  /api/tap?pipeline=&stage=[&max=&every=]         sampled records as server-sent events
 *   GET  /api/pipelines/<name>/dead-letters[?stage=&offset=&limit=]   a page of its builtin: file sink's
 *   POST /api/pipelines/<name>/dead-letters/replay       {ids?, stage?, all?}   (needs the admin credential)
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { ConveyorError, asConveyorError } from "../../src/errors";
import { PROJECT_ROOT } from "../../src/project-root";
import type { Auth } from "../../src/grpc/auth";
import type { Logger } from "../../src/telemetry/log";
import type { Membership } from "../membership";
import { pipelineStatus } from "../pipeline-status";
import type { PipelineView, Scheduler } from "../scheduler";
import type { StatsWindow } from "../stats-window";
import {
  DEFAULT_PAGE,
  MAX_PAGE,
  listDeadLetters,
  replayFromConsole,
  type ReplayRequest,
} from "./dead-letters";
import { buildOverview } from "./overview";
import { sendEvent, startEvents } from "./sse";
import { proxyTap } from "./tap-proxy";

export const EVENTS_INTERVAL_MS = 1000;
export const PAGE_DIR = path.join(PROJECT_ROOT, "dist", "console");
const MAX_BODY_BYTES = 1 << 20;

const STATIC: { [file: string]: string } = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** What the /api of one router term reads and whom it lets write. */
export interface ConsoleApiOptions {
  scheduler: Scheduler;
  membership: Membership;
  stats: StatsWindow;
  deadAfterMs: number;
  /**
   * Decides who is an admin (the router's, src/grpc/auth.ts): a write (replay) needs the admin
   * credential; reads are open. Undefined, or no admin token configured: read-only.
   */
  auth?: Auth;
  log: Logger;
}

/** The state a console reads, as a router term holds it (router/term.ts). */
export function termSources(
  t: Pick<ConsoleApiOptions, "scheduler" | "membership" | "stats" | "deadAfterMs">,
): Pick<ConsoleApiOptions, "scheduler" | "membership" | "stats" | "deadAfterMs"> {
  return { scheduler: t.scheduler, membership: t.membership, stats: t.stats, deadAfterMs: t.deadAfterMs };
}

export interface ConsoleOptions extends ConsoleApiOptions {
  host: string;
  port: number;
  pageDir?: string;
}

export interface RunningConsole {
  port: number;
  stop(): Promise<void>;
}

/** The /api of one router term; close() ends its event streams (the term ended). */
export interface ConsoleApi {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  close(): void;
}

/** HTTP status of a ConveyorError code at this edge. */
function httpStatusOf(code: string): number {
  switch (code) {
    case "PIPELINE_NOT_FOUND":
    case "STAGE_NOT_FOUND":
      return 404;
    case "CONFIG_INVALID":
    case "PROTOCOL_VIOLATION":
      return 400;
    case "UNAUTHENTICATED":
      return 401;
    case "PEER_UNAVAILABLE":
      return 503;
    default:
      return 500;
  }
}

/** Serves the page's files for a GET outside /api; false when the request is not for them. */
export async function servePage(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pageDir: string = PAGE_DIR,
): Promise<boolean> {
  const p = new URL(req.url ?? "/", "http://console").pathname;
  if (req.method !== "GET" || p.startsWith("/api/")) return false;
  const file = p === "/" ? "index.html" : p.slice(1);
  const type = STATIC[file];
  if (type === undefined) {
    json(res, 404, { error: `no page ${p}` });
    return true;
  }
  const body = await fs.promises.readFile(path.join(pageDir, file)).catch(() => undefined);
  if (body === undefined)
    json(res, 503, { error: `the console page is not built (${pageDir}): run scripts/build.sh` });
  else {
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache" });
    res.end(body);
  }
  return true;
}

export function consoleApi(o: ConsoleApiOptions): ConsoleApi {
  const sources = {
    scheduler: o.scheduler,
    membership: o.membership,
    stats: o.stats,
    deadAfterMs: o.deadAfterMs,
  };
  const streams = new Set<http.ServerResponse>();
  const writesConfigured = o.auth?.policy.tokens.admin !== undefined && o.auth.policy.tokens.admin !== "";
  const isAdmin = (req: http.IncomingMessage): boolean =>
    o.auth?.isAdmin(
      req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {},
    ) ?? false;
  const overviewFor = (req: http.IncomingMessage): ReturnType<typeof buildOverview> =>
    buildOverview(sources, Date.now(), { canWrite: isAdmin(req), writesConfigured });
  const pipelineOrThrow = (name: string): PipelineView => {
    const view = o.scheduler.pipelineView(name);
    if (view === undefined)
      throw new ConveyorError("PIPELINE_NOT_FOUND", `no pipeline named "${name}"`, { pipeline: name });
    return view;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://console");
    const p = url.pathname;
    if (req.method === "GET" && p === "/api/overview") return json(res, 200, overviewFor(req));
    if (req.method === "GET" && p === "/api/events") {
      startEvents(res);
      streams.add(res);
      const tick = (): void => sendEvent(res, "overview", overviewFor(req));
      tick();
      const timer = setInterval(tick, EVENTS_INTERVAL_MS);
      res.on("close", () => {
        clearInterval(timer);
        streams.delete(res);
      });
      return;
    }
    if (req.method === "GET" && p === "/api/tap") {
      const pipeline = url.searchParams.get("pipeline") ?? "";
      const stage = url.searchParams.get("stage") ?? "";
      const view = pipelineOrThrow(pipeline);
      const placed = view.placement.stages.find((s) => s.name === stage);
      if (!placed)
        throw new ConveyorError("STAGE_NOT_FOUND", `pipeline "${pipeline}" has no stage "${stage}"`);
      const targets = placed.instances
        .filter((i) => o.membership.get(i.sidecarId)?.state === "alive")
        .map((i) => ({ sidecarId: i.sidecarId, peerAddress: i.peerAddress }));
      startEvents(res);
      streams.add(res);
      res.on("close", () => streams.delete(res));
      proxyTap(res, targets, {
        pipeline,
        stage,
        max: clampInt(url.searchParams.get("max"), 1, 1000, 100),
        sampleEvery: clampInt(url.searchParams.get("every"), 1, 1_000_000, 1),
      });
      return;
    }
    const m = /^\/api\/pipelines\/([^/]+)\/(status|dead-letters|dead-letters\/replay)$/.exec(p);
    if (m) {
      const view = pipelineOrThrow(decodeURIComponent(m[1]!));
      if (req.method === "GET" && m[2] === "status")
        return json(res, 200, pipelineStatus(view, o.membership.all(), o.stats, Date.now()));
      if (req.method === "GET" && m[2] === "dead-letters")
        return json(
          res,
          200,
          await listDeadLetters(view, {
            stage: url.searchParams.get("stage") || undefined,
            offset: clampInt(url.searchParams.get("offset"), 0, Number.MAX_SAFE_INTEGER, 0),
            limit: clampInt(url.searchParams.get("limit"), 1, MAX_PAGE, DEFAULT_PAGE),
          }),
        );
      if (req.method === "POST" && m[2] === "dead-letters/replay") {
        if (!isAdmin(req))
          return json(res, writesConfigured ? 401 : 403, {
            error: writesConfigured
              ? "replay needs the router's admin token (Authorization: Bearer …)"
              : "the console is read-only: start the router with ADMIN_TOKEN to allow replay",
          });
        const body = parseReplay(await readBody(req));
        const sidecar = o.membership.alive()[0];
        if (!sidecar) throw new ConveyorError("PEER_UNAVAILABLE", "no live sidecar to replay through");
        o.log.info(
          { pipeline: view.name, ids: body.ids.length, all: body.all },
          "console: replaying dead letters",
        );
        return json(res, 200, await replayFromConsole(view, body, sidecar));
      }
    }
    json(res, 404, { error: `no API ${req.method} ${p}` });
  };

  return {
    handle,
    close: () => {
      for (const r of streams) r.end();
      streams.clear();
    },
  };
}

/** Listens on host:port; `route` answers every request (errors mapped to JSON here). */
export async function listenConsole(
  host: string,
  port: number,
  route: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  log: Logger,
  onStop: () => void = () => undefined,
): Promise<RunningConsole> {
  const server = http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const e = asConveyorError(err);
      if (e.code === "INTERNAL") log.error({ err }, "console request failed");
      if (res.headersSent) res.end();
      else json(res, httpStatusOf(e.code), { error: e.message, code: e.code });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new ConveyorError(
          "CONFIG_INVALID",
          `the console cannot listen on ${host}:${port}: ${err.message}`,
          { host, port },
          { cause: err },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  log.info({ url: `http://${host}:${bound}/` }, "console listening");
  return {
    port: bound,
    stop: () =>
      new Promise<void>((resolve) => {
        onStop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One router's console: the page and its term's /api. */
export async function startConsole(o: ConsoleOptions): Promise<RunningConsole> {
  const api = consoleApi(o);
  return listenConsole(
    o.host,
    o.port,
    async (req, res) => {
      if (!(await servePage(req, res, o.pageDir))) await api.handle(req, res);
    },
    o.log,
    () => api.close(),
  );
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function clampInt(text: string | null, min: number, max: number, fallback: number): number {
  const n = Number(text);
  return text === null || !Number.isInteger(n) ? fallback : Math.min(max, Math.max(min, n));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ConveyorError("CONFIG_INVALID", "request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseReplay(text: string): ReplayRequest {
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    throw new ConveyorError("CONFIG_INVALID", "the replay request is not JSON");
  }
  const b = (typeof body === "object" && body !== null ? body : {}) as { [k: string]: unknown };
  const ids = Array.isArray(b.ids) ? b.ids.filter((x): x is string => typeof x === "string") : [];
  return {
    ids,
    all: b.all === true,
    ...(typeof b.stage === "string" && b.stage !== "" ? { stage: b.stage } : {}),
  };
}
