import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import mirrorSchema from "../../../schemas/mirror.schema.json";
import { AJV_OPTIONS } from "../../config/config-file";
import { ConveyorError } from "../../errors";
import { DEFAULT_FLUSH, loadMirrorConfig, parseMirrorConfig, type MirrorFileConfig } from "./config";

const testdata = (name: string): string => path.join(__dirname, "testdata", name);

function problems(file: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadMirrorConfig(testdata(file), env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConveyorError);
    expect((err as ConveyorError).code).toBe("CONFIG_INVALID");
    return (err as ConveyorError).details.problems as string[];
  }
  throw new Error(`${file} was accepted`);
}

function golden(name: string): string[] {
  return fs.readFileSync(testdata(name), "utf8").split("\n").filter(Boolean);
}

describe("mirror config", () => {
  it("accepts a mirror-v3 config, interpolates ${VAR:-default} and applies defaults", () => {
    const plans = loadMirrorConfig(testdata("good.yaml"), { MIRROR_ROOT: "/data/m" });
    expect(plans).toHaveLength(2);
    expect(plans[0]).toEqual({
      name: "orders-0",
      sourceBrokers: ["kafka-1:9092", "kafka-2:9092"],
      groupId: "mirror.orders-0",
      topic: "orders",
      partition: 0,
      destinationName: "orders",
      startOffset: 0,
      flush: { maxOffsets: 10, maxBytes: 1048576, maxTimeMs: 1000 },
      destination: {
        type: "filesystem",
        bootstrapServers: [],
        root: "/data/m",
        prefix: "",
        compression: "zstd-1",
        timestampMode: "source",
        kafkaMode: "transactional",
      },
    });
    expect(plans[1]).toMatchObject({
      groupId: "conveyor-mirror.orders-1",
      partition: 1,
      destinationName: "orders-archive",
      startOffset: 100,
    });
  });

  it("uses the flush defaults when flush is absent", () => {
    const [plan] = parseMirrorConfig(
      "destination: {type: filesystem, root: /d}\nmirrors: [{name: a, source: {bootstrap-servers: k:1}, topic: t, partition: 0}]",
    );
    expect(plan!.flush).toEqual(DEFAULT_FLUSH);
  });

  it("reports every schema problem at once (golden)", () => {
    expect(problems("bad.yaml")).toEqual(golden("bad.golden"));
  });

  it("rejects duplicate names, duplicate (topic, partition) and two mirrors on one destination (golden)", () => {
    expect(problems("duplicates.yaml")).toEqual(golden("duplicates.golden"));
  });

  it.each(["kafka-to-kafka", "parallel-mirrors-filesystem", "s3-versitygw"])(
    "accepts mirror-v3's own example %s.yaml unchanged",
    (name) => {
      const plans = loadMirrorConfig(testdata(`mirror-v3/${name}.yaml`), {});
      expect(plans.length).toBeGreaterThan(0);
      expect(plans[0]!.destination.format).toBeUndefined(); // the destination decides: what is there, else parquet
      expect(plans[0]!.destination.compression).toBe("zstd-1");
    },
  );

  it("accepts mirror-v3's explicit nulls, zero flush values and format fields", () => {
    const [plan] = loadMirrorConfig(testdata("mirror-v3-nulls.yaml"), {});
    expect(plan).toMatchObject({
      groupId: "conveyor-mirror.a",
      destinationName: "t",
      flush: { maxOffsets: 0, maxBytes: 0, maxTimeMs: 0 },
      destination: { type: "s3", prefix: "", format: "ndjson", compression: "snappy" },
    });
    expect(plan!.destination.endpoint).toBeUndefined();
  });

  it("accepts timestamp-mode for Kafka and an empty mirrors list", () => {
    const plans = parseMirrorConfig(
      "destination: {type: kafka, bootstrap-servers: t:1, timestamp-mode: destination}\nmirrors: []",
    );
    expect(plans).toEqual([]);
    const [plan] = parseMirrorConfig(
      "destination: {type: kafka, bootstrap-servers: t:1, timestamp-mode: destination}\n" +
        "mirrors: [{name: a, source: {bootstrap-servers: k:1}, topic: t, partition: 0}]",
    );
    expect(plan!.destination.timestampMode).toBe("destination");
  });

  it("accepts mode offset-preserving for Kafka only (transactional by default)", () => {
    const mirrors = "mirrors: [{name: a, source: {bootstrap-servers: k:1}, topic: t, partition: 0}]";
    const [preserving] = parseMirrorConfig(
      `destination: {type: kafka, bootstrap-servers: t:1, mode: offset-preserving}\n${mirrors}`,
    );
    expect(preserving!.destination.kafkaMode).toBe("offset-preserving");
    const [plain] = parseMirrorConfig(`destination: {type: kafka, bootstrap-servers: t:1}\n${mirrors}`);
    expect(plain!.destination.kafkaMode).toBe("transactional");
    expect(() =>
      parseMirrorConfig(`destination: {type: filesystem, root: /d, mode: offset-preserving}\n${mirrors}`),
    ).toThrow('/destination: field "mode" does not belong to a destination of type filesystem');
    expect(() =>
      parseMirrorConfig(`destination: {type: kafka, bootstrap-servers: t:1, mode: exactly-once}\n${mirrors}`),
    ).toThrow(/\/destination\/mode/);
  });

  it("refuses fields of another destination type and a partition beyond 32 bits (golden)", () => {
    expect(problems("cross-type.yaml")).toEqual(golden("cross-type.golden"));
  });

  it("names a variable without default that is unset", () => {
    const text =
      'destination: {type: filesystem, root: "${ROOT}"}\nmirrors: [{name: a, source: {bootstrap-servers: k:1}, topic: t, partition: 0}]';
    expect(() => parseMirrorConfig(text, "m.yaml", {})).toThrow(/ROOT is not set and has no default/);
  });

  it("rejects duplicate keys and non-YAML", () => {
    expect(() => parseMirrorConfig("a: 1\na: 2\n")).toThrow(/not valid YAML/);
  });
});

describe("schemas/mirror.schema.json", () => {
  it("compiles in strict mode", () => {
    const ajv = new Ajv(AJV_OPTIONS);
    expect(ajv.validateSchema(mirrorSchema)).toBe(true);
    expect(() => ajv.compile(mirrorSchema)).not.toThrow();
  });

  it("has exactly the fields of MirrorFileConfig", () => {
    type D = MirrorFileConfig["destination"];
    type M = MirrorFileConfig["mirrors"][number];
    const destination: { [K in keyof Required<D>]: true } = {
      type: true,
      "bootstrap-servers": true,
      root: true,
      endpoint: true,
      region: true,
      bucket: true,
      prefix: true,
      format: true,
      compression: true,
      "timestamp-mode": true,
      mode: true,
      flush: true,
    };
    const mirror: { [K in keyof Required<M>]: true } = {
      name: true,
      source: true,
      topic: true,
      partition: true,
      "destination-name-override": true,
      "start-offset": true,
    };
    const defs = mirrorSchema.definitions;
    expect(Object.keys(mirrorSchema.properties).sort()).toEqual(["destination", "mirrors"]);
    expect(Object.keys(defs.destination.properties).sort()).toEqual(Object.keys(destination).sort());
    expect(Object.keys(defs.mirror.properties).sort()).toEqual(Object.keys(mirror).sort());
    expect(Object.keys(defs.destination.properties.flush.properties).sort()).toEqual([
      "max-bytes",
      "max-offsets",
      "max-time-ms",
    ]);
  });
});
