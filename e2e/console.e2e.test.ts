/**
 * The web console in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
 * against real processes: a generator in pod A, a transform in pod B that fails some records
 * (e2e/stages/poison-transform.ts) until it is "fixed", built-in file sinks for the output and the
 * dead letters. The page shows both pods, the peer hop and a records/s figure that rises; the Tap
 * panel shows records; a poisoned record shows in the errors and the dead letters; replay after the
 * fix delivers it; a killed sidecar turns red within the dead timeout. Screenshots go to
 * e2e/artifacts/ (not committed).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { ConsoleDeadLetters } from "../router/console/api-types";
import { LocalCluster, type Started } from "../src/cluster/local-cluster";
import { REPO_ROOT } from "../src/cluster/managed-process";
import { freePortBlock } from "./harness/ports";
import { eventually, readSinkFile } from "./harness/pipeline";
import { poisonScenario, startPoisonStages, writePoisonPipelineDir } from "./harness/poison-pipeline";

jest.setTimeout(90_000);

const ROUTER_HOST = "127.0.41.1";
const POD_A = "127.0.41.2";
const POD_B = "127.0.41.3";
const TOKEN = "console-e2e-token";
const ARTIFACTS = path.join(REPO_ROOT, "e2e", "artifacts");
const CHROMIUM = "/usr/bin/chromium";

const describeIfChromium = fs.existsSync(CHROMIUM) ? describe : describe.skip;

describeIfChromium("web console", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-console-"));
  const scenario = poisonScenario(dir);
  const { outDir, healed } = scenario;
  const cluster = new LocalCluster(dir, { ADMIN_TOKEN: TOKEN });
  let browser: BrowserContext;
  let page: Page;
  let sidecarB: Started;
  let url = "";

  const shot = (name: string, fullPage = true): Promise<Buffer> =>
    page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage });

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 13);
    const httpPort = base + 12;
    await cluster.startRouter({
      host: ROUTER_HOST,
      port: base,
      heartbeatIntervalSecs: 0.5,
      deadAfterMissed: 4,
      httpPort,
      pipelinesDir: writePoisonPipelineDir(dir, scenario),
    });
    url = `http://${ROUTER_HOST}:${httpPort}/`;
    const router = `${ROUTER_HOST}:${base}`;
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    await startPoisonStages(cluster, scenario, {
      podA: POD_A,
      podB: POD_B,
      port: base + 2,
      count: 1_000_000,
      rate: 200,
    });
    await cluster.startSidecar({
      id: "a",
      host: POD_A,
      port: base + 1,
      router,
      heartbeatIntervalSecs: 0.5,
      ...discovery,
    });
    sidecarB = await cluster.startSidecar({
      id: "b",
      host: POD_B,
      port: base + 1,
      router,
      heartbeatIntervalSecs: 0.5,
      ...discovery,
    });
    // A fresh profile (--user-data-dir) per run, which playwright sets from its first argument.
    browser = await chromium.launchPersistentContext(path.join(dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("shows both pods, the peer hop, live records/s and a rising total; taps; errors and dead letters; replays; marks a dead sidecar", async () => {
    await page.goto(url);
    const check = page.locator('.stage[data-stage="check"]');
    await check.locator('.pod[data-sidecar="b"]').waitFor({ timeout: 15_000 });
    await page.locator('.stage[data-stage="gen"] .pod[data-sidecar="a"]').waitFor();
    // gen (pod A) → check (pod B) crosses pods.
    expect(await page.locator(".edge.peer").first().textContent()).toContain("peer hop");
    // Live: the stage's total keeps rising while its records/s shows real traffic (the rate itself
    // may already be steady when the page first loads, so it is not asked to rise).
    const numberIn = async (cls: string): Promise<number> =>
      parseFloat((await check.locator(cls).textContent()) ?? "0");
    const first = await numberIn(".total-in");
    let [total, rate] = [first, 0];
    await eventually(
      async () => {
        [total, rate] = [await numberIn(".total-in"), await numberIn(".rate-in")];
        return total > first && rate > 10;
      },
      20_000,
      () => `check's total in stayed at ${total} (first ${first}), records/s ${rate}`,
    );
    expect(await check.locator(".p99").textContent()).toMatch(/ms|s$/);
    await shot("live");

    // Tap: records entering check on pod B.
    await page.selectOption("#tap-stage", "checked/check");
    await page.click("#tap-start");
    await page.locator("#tap-records li").nth(4).waitFor({ timeout: 10_000 });
    expect(await page.locator("#tap-records li").first().textContent()).toMatch(/^gen-\d+ /);
    await shot("tap");

    // A poisoned record (i % 10 === 3 or i % 50 === 7) in the errors, with its id and attempt.
    const poisoned = page.locator('#errors tbody tr[data-stage="check"]');
    await poisoned.first().waitFor({ timeout: 10_000 });
    const errorRow = (await poisoned.first().textContent()) ?? "";
    expect(errorRow).toMatch(/STAGE_FAILED.*record gen-\d+ (is poisoned|can never be processed).*gen-\d+/);

    // ... and in the dead letters.
    await page.selectOption("#dlq-pipeline", "checked");
    await page.click("#dlq-load");
    const letters = page.locator("#dlq tbody tr");
    await letters.first().waitFor({ timeout: 10_000 });
    const deadId = (await letters.first().getAttribute("data-record")) ?? "";
    expect(deadId).toMatch(/^gen-\d+$/);
    expect(Number(deadId.split("-")[1]) % 10 === 3 || Number(deadId.split("-")[1]) % 50 === 7).toBe(true);
    await shot("dead-letters");
    // Paged: the API sends one page and says how many there are in all; the page walks them.
    const paged = (await (
      await fetch(`${url}api/pipelines/checked/dead-letters?offset=1&limit=2`)
    ).json()) as ConsoleDeadLetters;
    expect(paged).toMatchObject({ offset: 1, limit: 2 });
    expect(paged.letters).toHaveLength(2);
    expect(paged.total).toBeGreaterThanOrEqual(3);
    expect(paged.letters[0]!.id).not.toBe(deadId);
    if (paged.total > 50) {
      await page.click("#dlq-next");
      await page.locator("#dlq-page", { hasText: /^51–/ }).waitFor({ timeout: 5000 });
      await page.click("#dlq-prev");
      await page.locator("#dlq-page", { hasText: /^1–/ }).waitFor({ timeout: 5000 });
    }

    // Replay is refused without the token; after the fix, with it, the dead letter reaches the sink.
    await page.click("#dlq-replay-all");
    await page.locator("#replay-result", { hasText: "refused" }).waitFor({ timeout: 10_000 });
    fs.writeFileSync(healed, "");
    await page.fill("#token", TOKEN);
    await page.locator(`#dlq tbody tr[data-record="${deadId}"] input`).check();
    await page.click("#dlq-replay-selected");
    await page.locator("#replay-result", { hasText: "1 delivered, 0 failed" }).waitFor({ timeout: 20_000 });
    const out = readSinkFile(path.join(outDir, "checked-b.ndjson"));
    expect(out.filter((l) => l.id === deadId)).toHaveLength(1);
    await page.locator(`#dlq tbody tr[data-record="${deadId}"][data-replayed="true"]`).first().waitFor();
    await shot("replayed");

    // Killing pod B's sidecar: red within the dead timeout (4 × 0.5 s, or one interval after its stream broke).
    sidecarB.process.kill("SIGKILL");
    const killedAt = Date.now();
    await page.locator('#sidecars tr.dead[data-sidecar="b"]').waitFor({ timeout: 5_000 });
    expect(Date.now() - killedAt).toBeLessThan(2_000 + 1_500);
    // Looked up and read in one task of the page: the table is redrawn every second, and an element
    // resolved by a locator may be detached (no computed colour) by the time it is evaluated.
    const color = await page.evaluate(() => {
      const td = document.querySelector('#sidecars tr.dead[data-sidecar="b"] td');
      return td ? getComputedStyle(td).color : "no dead row";
    });
    expect(color).toBe("rgb(198, 40, 40)");
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot("dead-sidecar", false);
    // Readable on a phone: one column.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("phone", false);
  });
});
