/**
 * The fast path of failover: a standby watches the leader's process over a
 * grpc.health.v1 Watch stream. A kill -9 (or a crash) resets that connection at
 * once; if a fresh TCP connect to the leader's port is then refused, no process
 * listens there any more, and the standby revokes the leader's lease instead
 * of waiting up to a TTL for it to expire. A paused or partitioned leader
 * keeps its connections (or times out without a refusal), so for those the
 * lease TTL decides, as it must. A wrong verdict costs an election, never
 * safety: every commit is guarded by the leader key (guarded-commit.ts).
 */
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { packageDefinition } from "../../src/proto";

interface HealthWatchClient extends grpc.Client {
  watch(req: { service: string }): grpc.ClientReadableStream<unknown>;
}
const HealthCtor = (
  grpc.loadPackageDefinition(packageDefinition) as unknown as {
    grpc: {
      health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => HealthWatchClient } };
    };
  }
).grpc.health.v1.Health;

/** host:port → [host, port]; undefined when it is not one. */
function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** Resolves true when a TCP connect is refused (nobody listens), false when it connects or times out. */
export function connectRefused(address: string, timeoutMs = 500): Promise<boolean> {
  const target = splitAddress(address);
  if (target === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = net.connect(target);
    const done = (refused: boolean): void => {
      socket.destroy();
      resolve(refused);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(false));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED"));
  });
}

export interface LeaderProbe {
  stop(): void;
}

/** Calls onGone once when the process at `address` is provably gone. */
export function probeLeader(
  address: string,
  credentials: grpc.ChannelCredentials | undefined,
  onGone: () => void,
): LeaderProbe {
  const client = new HealthCtor(address, credentials ?? grpc.credentials.createInsecure());
  let stopped = false;
  let stream: grpc.ClientReadableStream<unknown> | undefined;
  let retry: NodeJS.Timeout | undefined;
  const watch = (): void => {
    if (stopped) return;
    const s = client.watch({ service: "" });
    stream = s;
    let ended = false;
    const broken = (): void => {
      if (ended || stopped) return;
      ended = true;
      void connectRefused(address).then((refused) => {
        if (stopped) return;
        if (refused) {
          stopped = true;
          client.close();
          onGone();
        } else {
          retry = setTimeout(watch, 500);
          retry.unref();
        }
      });
    };
    s.on("data", () => undefined);
    s.on("error", broken);
    s.on("end", broken);
  };
  watch();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      stream?.cancel();
      client.close();
    },
  };
}
