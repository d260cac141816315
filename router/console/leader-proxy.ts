/**
 * A standby router's console forwards /api to the leader's console (its HTTP address is in the
 * leader key, router/cluster/leader-election.ts), so a Service in front of every replica serves the
 * whole console: the page from any member, the figures (JSON, event streams, taps, replay) from
 * the leader, which alone has the sidecars' heartbeats. The request is piped as it is (method,
 * path, headers, body; the answer streamed back, server-sent events included). A forwarded request
 * is marked, and a member that is not the leader either answers 503 instead of forwarding again:
 * no loops while the cluster's view of its leader is changing.
 */
import * as http from "node:http";

export const FORWARDED_HEADER = "x-conveyor-console-forwarded";
export const CONNECT_TIMEOUT_MS = 3000;

function refuse(res: http.ServerResponse, status: number, error: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify({ error, code: "NOT_LEADER" }));
}

/** Forwards one request to the console at `leader` (host:port); undefined: no leader known. */
export function forwardToLeaderConsole(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  leader: string | undefined,
): void {
  if (req.headers[FORWARDED_HEADER] !== undefined)
    return refuse(res, 503, "this router is not the leader (the request was already forwarded once)");
  if (leader === undefined)
    return refuse(res, 503, "this router is a standby and knows no leader with a console; retry shortly");
  const sep = leader.lastIndexOf(":");
  const upstream = http.request({
    host: leader.slice(0, sep).replace(/^\[|\]$/g, ""),
    port: Number(leader.slice(sep + 1)),
    method: req.method,
    path: req.url,
    headers: { ...req.headers, host: leader, [FORWARDED_HEADER]: "1" },
    timeout: CONNECT_TIMEOUT_MS,
  });
  // The timeout bounds the connection and the wait for the answer's head, not an event stream.
  upstream.on("response", (answer) => {
    upstream.setTimeout(0);
    res.writeHead(answer.statusCode ?? 502, { ...answer.headers, "x-conveyor-console-leader": leader });
    answer.pipe(res);
    res.on("close", () => answer.destroy());
  });
  upstream.on("timeout", () => upstream.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)));
  upstream.on("error", (err) => {
    if (res.headersSent) res.end();
    else refuse(res, 502, `the leader's console at ${leader} did not answer: ${err.message}`);
  });
  res.on("close", () => upstream.destroy());
  req.pipe(upstream);
}
