import { PauseFence } from "./pause-fence";

describe("PauseFence", () => {
  let now = 0;
  const fences: PauseFence[] = [];
  const make = (onTrip: (ms: number) => void = () => undefined): PauseFence => {
    const f = new PauseFence({ limitMs: 2000, onTrip, tickMs: 60_000, now: () => now });
    fences.push(f);
    return f;
  };
  afterEach(() => fences.splice(0).forEach((f) => f.stop()));
  beforeEach(() => (now = 1_000_000));

  it("lets deliveries through while the process keeps running", () => {
    const f = make();
    for (let i = 0; i < 10; i++) {
      now += 1500;
      expect(() => f.check()).not.toThrow();
    }
    expect(f.tripped).toBe(false);
  });

  it("trips on the first check after a pause longer than the limit, and calls onTrip once", () => {
    const trips: number[] = [];
    const f = make((ms) => trips.push(ms));
    now += 7000; // SIGSTOP … SIGCONT
    expect(() => f.check()).toThrow(expect.objectContaining({ code: "STALE_GENERATION" }));
    now += 10;
    expect(() => f.check()).toThrow(/paused for 7 s/);
    expect(trips).toEqual([7000]);
  });

  it("is lifted by the router's next routing table", () => {
    const f = make();
    now += 5000;
    expect(() => f.check()).toThrow();
    f.lift();
    now += 100;
    expect(() => f.check()).not.toThrow();
    expect(f.tripped).toBe(false);
  });
});
