/**
 * No secrets through the Admin API: a definition received over the API is
 * never interpolated with the router's environment (DESIGN invariant 5). The
 * router runs in-process with SECRET_TOKEN in its environment; the exploit is
 * sent over gRPC exactly as grpcurl would send it.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AdminApi } from "../src/cli/admin-client";
import { ConveyorError } from "../src/errors";
import { startRouter, type RunningRouter } from "./main";
import { inProcessRouterConfig } from "./test-router";

const SECRET = `router-only-${process.pid}-${Date.now()}`;

const routerConfig = inProcessRouterConfig;

async function rejection(p: Promise<unknown>): Promise<ConveyorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConveyorError)) throw new Error(`expected a ConveyorError, got ${String(err)}`);
  return err;
}

describe("Admin API and the router's environment", () => {
  let router: RunningRouter | undefined;
  let admin: AdminApi | undefined;
  let tmp: string;

  beforeEach(async () => {
    process.env.SECRET_TOKEN = SECRET;
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "conveyor-admin-secrets-"));
  });
  afterEach(async () => {
    delete process.env.SECRET_TOKEN;
    admin?.close();
    admin = undefined;
    await router?.stop();
    router = undefined;
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it("rejects a definition with ${SECRET_TOKEN} (CONFIG_INVALID naming it) and returns the secret nowhere", async () => {
    router = await startRouter(routerConfig());
    admin = new AdminApi(router.address);
    const exploit = (value: string): string =>
      [
        "name: leak",
        "source: { stage: orders }",
        `sink: { builtin: sling, config: { target: ${JSON.stringify(value)}, object: public.events } }`,
      ].join("\n");
    const seen: string[] = [];

    for (const value of ["${SECRET_TOKEN}", "postgres://u:${SECRET_TOKEN:-none}@db/x"]) {
      const err = await rejection(admin.applyPipeline({ definition: exploit(value) }));
      seen.push(err.message, JSON.stringify(err.details));
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.details.grpcCode).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.message).toContain("/sink/config/target");
      expect(err.message).toContain("SECRET_TOKEN");
      expect(err.message).toContain("conveyor apply");
    }

    // A pipeline that was applied: what the API returns about it carries no router environment either.
    const ok = await admin.applyPipeline({
      definition: "name: fine\nsource: { stage: orders }\nsink: { stage: warehouse }\n",
    });
    seen.push(JSON.stringify(ok));
    const list = await admin.listPipelines();
    seen.push(JSON.stringify(list));
    expect(list.pipelines.map((p) => p.name)).toEqual(["fine"]);
    seen.push(JSON.stringify(await admin.getPipelineStatus("fine")));
    const missing = await rejection(admin.getPipelineStatus("leak"));
    expect(missing.code).toBe("PIPELINE_NOT_FOUND");
    seen.push(missing.message);

    for (const text of seen) expect(text).not.toContain(SECRET);
  });

  it("still resolves ${VAR} in the files it loads itself from PIPELINES_DIR", async () => {
    const dir = path.join(tmp, "pipelines");
    await fsp.mkdir(dir);
    process.env.CONVEYOR_TEST_OUT_DIR = path.join(tmp, "out");
    try {
      await fsp.writeFile(
        path.join(dir, "own.yaml"),
        "name: own\nsource: { stage: a }\nsink: { builtin: file, config: { dir: '${CONVEYOR_TEST_OUT_DIR}' } }\n",
      );
      router = await startRouter(routerConfig({ pipelinesDir: dir }));
    } finally {
      delete process.env.CONVEYOR_TEST_OUT_DIR;
    }
    admin = new AdminApi(router.address);
    const [own] = (await admin.listPipelines()).pipelines;
    expect(JSON.parse(own.definitionJson)).toMatchObject({
      sink: { config: { dir: path.join(tmp, "out") } },
    });
  });
});
