import type { Command } from "commander";
import { ingestFlagBeforeIngest, normalizeBoolFlags, relayCommand, type IngestFlags } from "./cli";

/** The merged options `conveyor relay <argv>` gives ingest, without running it. */
function ingestFlags(argv: string[]): IngestFlags {
  const relay = relayCommand();
  let seen: IngestFlags | undefined;
  for (const cmd of [relay, ...relay.commands]) {
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: () => undefined });
  }
  relay.commands[0].action(function (this: Command) {
    seen = this.optsWithGlobals<IngestFlags>();
  });
  relay.parse(argv, { from: "user" });
  if (seen === undefined) throw new Error("ingest did not run");
  return seen;
}

describe("relay flags in pleiades' forms", () => {
  it("-r=false and --resume=false turn resume off; -r=true and the default keep it on", () => {
    expect(ingestFlags(["ingest", "-r=false", "--file.enable"]).resume).toBe(false);
    expect(ingestFlags(["ingest", "--resume=false", "--file.enable"]).resume).toBe(false);
    expect(ingestFlags(["ingest", "-r=true", "--file.enable"]).resume).toBe(true);
    expect(ingestFlags(["ingest", "--file.enable"]).resume).toBe(true);
    expect(ingestFlags(["ingest", "--no-resume"]).resume).toBe(false);
  });

  it("takes the global flags before ingest, as pleiades' persistent root flags", () => {
    const f = ingestFlags([
      "-v",
      "--kafka.enable",
      "--kafka.broker=my-cluster-kafka-bootstrap:9092",
      "ingest",
      "-r=false",
    ]);
    expect(f).toMatchObject({
      verbose: true,
      "kafka.enable": true,
      "kafka.broker": "my-cluster-kafka-bootstrap:9092",
      resume: false,
    });
    // pleiades' Kind Deployment args, after the subcommand
    expect(ingestFlags(["ingest", "-v", "--kafka.enable", "--kafka.broker=b:9092"])).toMatchObject({
      verbose: true,
      "kafka.enable": true,
      "kafka.broker": "b:9092",
    });
  });

  it("refuses ingest's own -r/--resume before `ingest` with an error that names the flag as typed", () => {
    expect(() => ingestFlags(["--resume=false", "ingest", "--file.enable"])).toThrow(
      "conveyor relay: --resume=false is an option of `ingest` (as in pleiades): put it after the subcommand, e.g. `conveyor relay ingest --resume=false`",
    );
    expect(() => ingestFlags(["-r", "ingest"])).toThrow(/-r is an option of `ingest`/);
    expect(ingestFlagBeforeIngest(["-v", "--no-resume", "ingest"])).toBe("--no-resume");
    expect(ingestFlagBeforeIngest(["-v", "ingest", "-r=false"])).toBeUndefined();
    expect(ingestFlagBeforeIngest(["--url", "x", "--", "-r", "ingest"])).toBeUndefined();
    // Under the conveyor program, commander has already taken a leading `ingest` out of relay's args.
    expect(ingestFlagBeforeIngest(["--kafka.enable", "-r=false"])).toBeUndefined();
  });

  it("normalizeBoolFlags: pflag's boolean values, the last use wins, -- ends it", () => {
    expect(normalizeBoolFlags(["--kafka.enable=true", "-v=1", "-q=F"])).toEqual([
      "--kafka.enable",
      "--verbose",
    ]);
    expect(normalizeBoolFlags(["--file.enable", "--file.enable=false"])).toEqual([]);
    expect(normalizeBoolFlags(["-r", "-r=false", "--", "-r=true"])).toEqual(["--no-resume", "--", "-r=true"]);
    expect(normalizeBoolFlags(["--kafka.broker=a:1"])).toEqual(["--kafka.broker=a:1"]);
    expect(() => normalizeBoolFlags(["-r=maybe"])).toThrow('invalid value "maybe" for -r: use true or false');
  });
});
