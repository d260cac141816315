import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { FORWARDED_HEADER, forwardToLeaderConsole } from "./leader-proxy";

async function serve(handler: http.RequestListener): Promise<{ address: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("forwardToLeaderConsole", () => {
  it("pipes method, path, headers and body to the leader's console and its answer back, marked", async () => {
    const leader = await serve((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            auth: req.headers.authorization,
            forwarded: req.headers[FORWARDED_HEADER],
            body,
          }),
        );
      });
    });
    let target: string | undefined = leader.address;
    const standby = await serve((req, res) => forwardToLeaderConsole(req, res, target));
    try {
      const res = await fetch(`http://${standby.address}/api/pipelines/p/dead-letters/replay?x=1`, {
        method: "POST",
        headers: { authorization: "Bearer t" },
        body: '{"all":true}',
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("x-conveyor-console-leader")).toBe(leader.address);
      expect(await res.json()).toEqual({
        method: "POST",
        url: "/api/pipelines/p/dead-letters/replay?x=1",
        auth: "Bearer t",
        forwarded: "1",
        body: '{"all":true}',
      });

      // Already forwarded once (a member with a stale view): no second hop.
      const again = await fetch(`http://${standby.address}/api/overview`, {
        headers: { [FORWARDED_HEADER]: "1" },
      });
      expect(again.status).toBe(503);
      // No leader known, and a leader whose console does not answer.
      target = undefined;
      const none = await fetch(`http://${standby.address}/api/overview`);
      expect(none.status).toBe(503);
      expect(((await none.json()) as { code: string }).code).toBe("NOT_LEADER");
      await leader.close();
      target = leader.address;
      const gone = await fetch(`http://${standby.address}/api/overview`);
      expect(gone.status).toBe(502);
    } finally {
      await standby.close();
      await leader.close();
    }
  });
});
