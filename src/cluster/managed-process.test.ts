import { ManagedProcess } from "./managed-process";

const node = (name: string, script: string): ManagedProcess =>
  new ManagedProcess(name, process.execPath, ["-e", script], process.env);

describe("ManagedProcess", () => {
  it("resolves when the output matches", async () => {
    const p = node("hello", "console.log('ready on 1234'); setTimeout(() => {}, 5000)");
    try {
      const m = await p.waitForOutput(/ready on (\d+)/, 5000);
      expect(m[1]).toBe("1234");
    } finally {
      await p.stop(2000);
    }
  });

  it("rejects on timeout, with the output so far", async () => {
    const p = node("quiet", "console.log('something else'); setTimeout(() => {}, 5000)");
    try {
      await expect(p.waitForOutput(/never/, 300)).rejects.toThrow(
        /quiet: timed out after 300 ms[\s\S]*something else/,
      );
    } finally {
      await p.stop(2000);
    }
  });

  it("rejects when the process exits first", async () => {
    const p = node("dies", "console.error('boom'); process.exit(3)");
    await expect(p.waitForOutput(/never/, 10_000)).rejects.toThrow(/dies: exited \(code 3/);
  });

  it("stop() sends SIGTERM and reports how the process ended", async () => {
    const p = node("sleeper", "setTimeout(() => {}, 60000)");
    await new Promise((r) => setTimeout(r, 200));
    expect(await p.stop(2000)).toEqual({ code: null, signal: "SIGTERM" });
    expect(p.running).toBe(false);
  });
});
