/**
 * Wider HTTP/2 flow-control windows for the data path's streams.
 *
 * HTTP/2 lets a sender put only as many bytes on a stream as the receiver's
 * window allows; Node's default is 64 KiB per stream and per connection. A
 * data-path message is 100 KB–1 MB (a batch of 1 KB records; a source read of
 * up to 1,000), so with the default every message needs several WINDOW_UPDATE
 * round trips between the two processes, each a wake-up of both event loops.
 * On a loaded machine that ping-pong, not the bytes, is what costs: the
 * benchmark showed it as CPU in every process on the path (docs/benchmarks.md).
 *
 * Memory stays bounded by the data plane's own credits (batches and records in
 * flight); the window only lets a message that was allowed travel in one go.
 *
 * - Clients: the channel option below (grpc-js sets both the stream window and
 *   the connection window from it).
 * - Servers: grpc-js has no option for the server side, so `widenServerWindows`
 *   updates the settings of the server's listening HTTP/2 servers after bind
 *   (new sessions get the stream window) and widens each new session's
 *   connection window. It relies on grpc-js's `http2Servers` map and does
 *   nothing when that is not there.
 */
import type * as http2 from "node:http2";
import type * as grpc from "@grpc/grpc-js";

/** Per-stream window: a 1 MB source read, or several 100-record batches, in one go. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Per-connection window (every stream on the connection shares it). */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Channel options for data-path clients (stream and connection window). */
export const FLOW_CONTROL_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc-node.flow_control_window": STREAM_WINDOW_BYTES,
};

const widened = new WeakSet<object>();

/** Call after the server is bound: connections made from now on get the wider windows. */
export function widenServerWindows(server: grpc.Server): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return;
  for (const s of servers.keys() as IterableIterator<http2.Http2Server>) {
    if (widened.has(s) || typeof s.updateSettings !== "function") continue;
    widened.add(s);
    s.updateSettings({ initialWindowSize: STREAM_WINDOW_BYTES });
    s.on("session", (session: http2.ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      } catch {
        // A session that is already closing: nothing to widen.
      }
    });
  }
}
