/**
 * Servers that are not gRPC, for tests of anything that probes ports
 * (discovery, client pools): each one listens on 127.0.0.1 (port 0 = any
 * free port unless given) and close() releases the port and every socket.
 */
import * as http from "node:http";
import * as net from "node:net";

export interface TestServer {
  host: string;
  port: number;
  /** host:port */
  address: string;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";

/** Accepts connections and never sends a byte: a client without a deadline hangs here. */
export function startSilentTcpServer(port = 0): Promise<TestServer> {
  return startTcpServer(port, () => undefined);
}

/** Answers every connection with bytes that are neither HTTP/2 nor HTTP/1.1. */
export function startGarbageServer(port = 0): Promise<TestServer> {
  const garbage = Buffer.from(
    "\u0000\u00ff\u0013garbage, not a protocol\r\n\u0007\u00fe".repeat(8),
    "latin1",
  );
  return startTcpServer(port, (socket) => {
    socket.write(garbage);
    socket.on("data", () => socket.write(garbage));
  });
}

/** A plain HTTP/1.1 server answering 200 "hello" to everything. */
export async function startHttp1Server(port = 0): Promise<TestServer> {
  const server = http.createServer((_req, res) =>
    res.writeHead(200, { "Content-Type": "text/plain" }).end("hello\n"),
  );
  const bound = await listen(server, port);
  return {
    host: HOST,
    port: bound,
    address: `${HOST}:${bound}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was just free and is closed again (nothing listens; a connect is refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startTcpServer(port: number, onConnection: (socket: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // The peer giving up (reset) is the expected end of every connection here.
    socket.on("error", () => sockets.delete(socket));
    socket.on("close", () => sockets.delete(socket));
    onConnection(socket);
  });
  const bound = await listen(server, port);
  return {
    host: HOST,
    port: bound,
    address: `${HOST}:${bound}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
