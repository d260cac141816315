import { ConveyorError } from "../../errors";
import { DEFAULT_PIPELINE_DIR, resolveSlingConfig, type SlingFlags } from "./job-config";

function problemsOf(flags: SlingFlags, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    resolveSlingConfig(flags, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConveyorError);
    expect((err as ConveyorError).code).toBe("CONFIG_INVALID");
    return (err as ConveyorError).details.problems as string[];
  }
  throw new Error("expected CONFIG_INVALID");
}

describe("resolveSlingConfig", () => {
  it("applies the documented defaults", () => {
    const c = resolveSlingConfig({}, {});
    expect(c).toEqual({
      clusterId: "unknown-cluster",
      pipelines: { kind: "dir", dir: DEFAULT_PIPELINE_DIR, defaulted: true },
      stateSpec: "file://./sling_state.json",
      statePath: "./sling_state.json",
      mode: "normal",
      maxRetries: 3,
      backoffBaseMs: 5000,
      slingBin: "sling",
      timeoutMs: 30 * 60_000,
      metricsPort: 0,
    });
  });

  it("reads every env var", () => {
    const c = resolveSlingConfig(
      {},
      {
        MISSION_CLUSTER_ID: "mars-1",
        SLING_CONFIG: "/etc/sling/one.yaml",
        SLING_STATE: "file:///var/lib/sling/state.json",
        SYNC_MODE: "backfill",
        SYNC_MAX_RETRIES: "5",
        SYNC_BACKOFF_BASE: "250ms",
        SLING_BIN: "/opt/sling",
        SLING_TIMEOUT: "1h",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
        SLING_METRICS_PORT: "9464",
        SLING_METRICS_FILE: "/tmp/m.prom",
        PROMETHEUS_PUSHGATEWAY_URL: "http://pgw:9091",
      },
    );
    expect(c).toEqual({
      clusterId: "mars-1",
      pipelines: { kind: "file", file: "/etc/sling/one.yaml" },
      stateSpec: "file:///var/lib/sling/state.json",
      statePath: "/var/lib/sling/state.json",
      mode: "backfill",
      maxRetries: 5,
      backoffBaseMs: 250,
      slingBin: "/opt/sling",
      timeoutMs: 3_600_000,
      otlp: { protocol: "http/protobuf", url: "http://collector:4318/v1/traces" },
      metricsPort: 9464,
      metricsFile: "/tmp/m.prom",
      pushgateway: "http://pgw:9091",
    });
  });

  it("lets flags override env", () => {
    const c = resolveSlingConfig(
      { clusterId: "flag", pipelineDir: "/flag/dir", maxRetries: "0", timeout: "10s" },
      { MISSION_CLUSTER_ID: "env", PIPELINE_DIR: "/env/dir", SYNC_MAX_RETRIES: "9", SLING_TIMEOUT: "5m" },
    );
    expect(c.clusterId).toBe("flag");
    expect(c.pipelines).toEqual({ kind: "dir", dir: "/flag/dir", defaulted: false });
    expect(c.maxRetries).toBe(0);
    expect(c.timeoutMs).toBe(10_000);
  });

  it("treats empty env values as unset (Kubernetes sets them)", () => {
    const c = resolveSlingConfig({}, { SLING_CONFIG: "", PIPELINE_DIR: " ", SYNC_MODE: "" });
    expect(c.pipelines).toEqual({ kind: "dir", dir: DEFAULT_PIPELINE_DIR, defaulted: true });
    expect(c.mode).toBe("normal");
  });

  it("refuses SLING_CONFIG and PIPELINE_DIR together, from env or flags", () => {
    expect(problemsOf({}, { SLING_CONFIG: "a.yaml", PIPELINE_DIR: "/p" })).toEqual([
      'SLING_CONFIG / --config ("a.yaml") and PIPELINE_DIR / --pipeline-dir ("/p") are both set: ' +
        "set one (a single replication file, or a directory of them)",
    ]);
    expect(problemsOf({ config: "a.yaml" }, { PIPELINE_DIR: "/p" })).toHaveLength(1);
  });

  it("the subcommand's mode wins over SYNC_MODE", () => {
    expect(resolveSlingConfig({}, { SYNC_MODE: "backfill" }, "noop").mode).toBe("noop");
  });

  it("reports every bad value at once, naming the variable and flag", () => {
    const problems = problemsOf(
      {},
      {
        SYNC_MODE: "fast",
        SYNC_MAX_RETRIES: "-1",
        SYNC_BACKOFF_BASE: "5",
        SLING_TIMEOUT: "0",
        SLING_STATE: "s3://b/state.json",
        OTEL_EXPORTER_OTLP_ENDPOINT: "otel-collector",
        SLING_METRICS_PORT: "70000",
      },
    );
    expect(problems).toEqual([
      'SYNC_MODE / --mode: "fast" must be one of normal, noop, backfill',
      expect.stringMatching(
        /^SLING_STATE \/ --state: "s3:\/\/b\/state.json": only file:\/\/ state is supported: the job's record is a local JSON file .*OpenTelemetry Collector/,
      ),
      'SYNC_MAX_RETRIES / --max-retries: "-1" must be a whole number from 0 to 100',
      'SYNC_BACKOFF_BASE / --backoff-base: "5" has no unit (use e.g. 5s or 5m; units: ms, s, m, h)',
      'SLING_TIMEOUT / --sling-timeout: "0" must be at least 1 ms',
      'SLING_METRICS_PORT / --metrics-port: "70000" must be a whole number from 0 to 65535',
      'OTEL_EXPORTER_OTLP_ENDPOINT / --otel-endpoint: "otel-collector" is neither host:port (OTLP/gRPC, e.g. otel-collector:4317) nor an http(s) URL (e.g. http://otel-collector:4318)',
    ]);
  });

  it("takes the sling-sync-wrapper's Helm values: gRPC host:port; a greptimedb:// state says what is supported", () => {
    const helm = {
      MISSION_CLUSTER_ID: "mission-01",
      PIPELINE_DIR: "/etc/sling/pipelines",
      OTEL_EXPORTER_OTLP_ENDPOINT: "otel-collector:4317",
      SYNC_MODE: "normal",
      SYNC_MAX_RETRIES: "3",
      SYNC_BACKOFF_BASE: "5s",
      SLING_TIMEOUT: "30m",
    };
    expect(resolveSlingConfig({}, helm).otlp).toEqual({
      protocol: "grpc",
      url: "http://otel-collector:4317",
    });
    const problems = problemsOf({}, { ...helm, SLING_STATE: "greptimedb://greptimedb:4001/sling_state" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('SLING_STATE / --state: "greptimedb://greptimedb:4001/sling_state"');
    expect(problems[0]).toContain("only file:// state is supported");
    expect(problems[0]).toContain("OpenTelemetry Collector");
  });

  it("follows the OTLP environment conventions: traces-specific variables first, a flag over both", () => {
    expect(
      resolveSlingConfig(
        {},
        { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      ).otlp,
    ).toEqual({ protocol: "grpc", url: "http://c:4318" });
    expect(
      resolveSlingConfig(
        {},
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: "c:4317",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://t:443/otlp/v1/traces",
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        },
      ).otlp,
    ).toEqual({ protocol: "http/json", url: "https://t/otlp/v1/traces" });
    expect(
      resolveSlingConfig(
        { otlpEndpoint: "flag:4317", otlpProtocol: "grpc" },
        {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t:4318/v1/traces",
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        },
      ).otlp,
    ).toEqual({ protocol: "grpc", url: "http://flag:4317" });
    expect(
      resolveSlingConfig(
        {},
        { OTEL_EXPORTER_OTLP_ENDPOINT: "c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" },
      ).otlp,
    ).toEqual({ protocol: "http/protobuf", url: "http://c:4318/v1/traces" });
    expect(
      problemsOf({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "udp" }),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL / --otlp-protocol: "udp" must be one of grpc, http/protobuf, http/json',
    ]);
  });
});
