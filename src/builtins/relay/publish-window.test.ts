import { PublishWindow } from "./publish-window";

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("PublishWindow", () => {
  it("commits only the leading run of settled publishes, once per run, in order", async () => {
    const commits: number[] = [];
    const w = new PublishWindow<number>(10, async (last) => void commits.push(last));
    const d = [deferred(), deferred(), deferred(), deferred()];
    for (let i = 0; i < d.length; i++) await w.add(i, d[i].promise);
    d[1].resolve();
    d[2].resolve();
    await tick();
    expect(commits).toEqual([]); // 0 is not published yet: 1 and 2 must not be committed
    d[0].resolve();
    await tick();
    expect(commits).toEqual([2]); // one commit for the run 0..2
    d[3].resolve();
    await w.drain();
    expect(commits).toEqual([2, 3]);
    expect(w.failure).toBeUndefined();
  });

  it("waits in add() while `limit` publishes are outstanding", async () => {
    const w = new PublishWindow<number>(2, async () => undefined);
    const d = [deferred(), deferred(), deferred()];
    await w.add(0, d[0].promise);
    let added = false;
    const adding = w.add(1, d[1].promise).then(() => (added = true));
    await tick();
    expect(added).toBe(false);
    d[0].resolve();
    await adding;
    expect(w.outstanding).toBe(1);
    d[1].resolve();
    await w.drain();
    expect(w.outstanding).toBe(0);
  });

  it("after a failed publish commits nothing more, reports the failure once and still drains", async () => {
    const commits: number[] = [];
    const failures: unknown[] = [];
    const w = new PublishWindow<number>(
      10,
      async (last) => void commits.push(last),
      (err) => failures.push(err),
    );
    const d = [deferred(), deferred(), deferred(), deferred()];
    for (let i = 0; i < d.length; i++) await w.add(i, d[i].promise);
    d[0].resolve();
    const boom = new Error("broker gone");
    d[1].reject(boom);
    d[2].resolve(); // published after a lost one: must never be committed
    await tick();
    expect(commits).toEqual([0]);
    expect(failures).toEqual([boom]);
    let drained = false;
    const draining = w.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false); // 3 is still outstanding
    d[3].reject(new Error("also failed"));
    await draining;
    expect(commits).toEqual([0]);
    expect(failures).toHaveLength(1);
    expect(w.failure).toEqual({ error: boom });
  });

  it("a failed commit is a failure too", async () => {
    const w = new PublishWindow<number>(4, async () => {
      throw new Error("disk full");
    });
    await w.add(0, Promise.resolve());
    await w.drain();
    expect((w.failure?.error as Error).message).toBe("disk full");
  });

  it("with limit 1 behaves like one publish at a time", async () => {
    const order: string[] = [];
    const w = new PublishWindow<number>(1, async (last) => void order.push(`commit ${last}`));
    for (let i = 0; i < 3; i++) {
      const d = deferred();
      order.push(`publish ${i}`);
      const adding = w.add(i, d.promise);
      d.resolve();
      await adding;
    }
    await w.drain();
    expect(order).toEqual(["publish 0", "commit 0", "publish 1", "commit 1", "publish 2", "commit 2"]);
  });
});
