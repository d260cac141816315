/**
 * A real S3-compatible server for tests: moto_server (installed by
 * scripts/setup.sh into ${CONVEYOR_CACHE}/moto-venv) on a free 127.0.0.1 port.
 * It honours conditional writes: PutObject with `If-None-Match: *` on an
 * existing key answers 412 PreconditionFailed.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { ManagedProcess } from "../cluster/managed-process";
import { freePort } from "./kafka-broker";
import { cacheDir } from "./tools";

export interface S3Server {
  /** http://127.0.0.1:PORT, for the client's `endpoint` (with forcePathStyle). */
  readonly endpoint: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export function motoServerPath(env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(cacheDir(env), "moto-venv", "bin", "moto_server");
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch (err) {
    throw new Error(`moto_server is not installed at ${file}: run scripts/setup.sh`, { cause: err });
  }
  return file;
}

/** Client settings for @aws-sdk/client-s3 against a test server. */
export function s3ClientConfig(endpoint: string): {
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}

export async function startS3Server(timeoutMs = 30_000): Promise<S3Server> {
  const bin = motoServerPath();
  const port = await freePort();
  const proc = new ManagedProcess(`moto:${port}`, bin, ["-H", "127.0.0.1", "-p", String(port)], process.env);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await proc.stop(5000);
  };
  const until = Date.now() + timeoutMs;
  while (!(await answers(`${endpoint}/`))) {
    if (!proc.running || Date.now() > until) {
      await stop();
      throw new Error(`moto_server on ${endpoint} did not start; output:\n${proc.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { endpoint, process: proc, stop };
}
