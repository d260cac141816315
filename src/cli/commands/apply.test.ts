import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startRouter, type RunningRouter } from "../../../router/main";
import { inProcessRouterConfig } from "../../../router/test-router";
import { AdminApi } from "../admin-client";
import { applyCommand } from "./apply";

describe("conveyor apply", () => {
  let router: RunningRouter;
  let tmp: string;

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-apply-"));
    router = await startRouter(inProcessRouterConfig());
  });
  afterEach(async () => {
    delete process.env.CONVEYOR_TEST_APPLIER_DIR;
    jest.restoreAllMocks();
    await router.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("resolves ${VAR} from the applier's environment before sending (the router resolves none)", async () => {
    const file = path.join(tmp, "p.yaml");
    fs.writeFileSync(
      file,
      "name: applied\nsource: { stage: a }\n" +
        "sink: { builtin: file, config: { dir: '${CONVEYOR_TEST_APPLIER_DIR}', fsync: '${CONVEYOR_TEST_FSYNC:-false}' } }\n",
    );
    process.env.CONVEYOR_TEST_APPLIER_DIR = path.join(tmp, "from-the-applier");
    const out: string[] = [];
    jest.spyOn(process.stdout, "write").mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    await applyCommand()
      .exitOverride()
      .parseAsync(["node", "apply", file, "--router", router.address], { from: "node" });
    expect(out.join("")).toBe("applied pipeline applied (created, generation 1)\n");

    const admin = new AdminApi(router.address);
    try {
      const [p] = (await admin.listPipelines()).pipelines;
      expect(JSON.parse(p.definitionJson)).toMatchObject({
        sink: { builtin: "file", config: { dir: path.join(tmp, "from-the-applier"), fsync: false } },
      });
    } finally {
      admin.close();
    }
  });
});
