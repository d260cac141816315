import { OtelEnvError, tracingSettings } from "./otel-env";

describe("tracingSettings", () => {
  it("is off without an endpoint, or when disabled", () => {
    expect(tracingSettings({}, "conveyor-sidecar")).toBeUndefined();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
    expect(tracingSettings({ ...endpoint, OTEL_SDK_DISABLED: "true" }, "x")).toBeUndefined();
    expect(tracingSettings({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }, "x")).toBeUndefined();
  });

  it("appends /v1/traces to a base endpoint for HTTP only, and reads the sampler", () => {
    expect(
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4318/" }, "conveyor-sidecar"),
    ).toMatchObject({
      url: "http://h:4318/v1/traces",
      protocol: "http/protobuf",
      sampler: "parentbased_always_on",
      ratio: 1,
      serviceName: "conveyor-sidecar",
    });
    expect(
      tracingSettings(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4317",
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
          OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
          OTEL_TRACES_SAMPLER_ARG: "0.01",
        },
        "x",
      ),
    ).toMatchObject({ url: "http://h:4317", protocol: "grpc", ratio: 0.01 });
  });

  it("resolves the endpoint through otlp-endpoint.ts (the Sling runner's parser): the traces variables first, empty ones unset", () => {
    // A bare host:port is OTLP/gRPC in plaintext, as the sling-sync-wrapper's chart sets it.
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "otel-collector:4317" }, "x")).toMatchObject({
      url: "http://otel-collector:4317",
      protocol: "grpc",
    });
    expect(
      tracingSettings(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: "h:4317",
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t:4318/custom",
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "HTTP/JSON",
        },
        "x",
      ),
    ).toMatchObject({ url: "http://t:4318/custom", protocol: "http/json" });
    expect(
      tracingSettings(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4318",
          OTEL_EXPORTER_OTLP_PROTOCOL: " ",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
        },
        "x",
      ),
    ).toMatchObject({ url: "http://h:4318/v1/traces", protocol: "http/protobuf" });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "" }, "x")).toBeUndefined();
  });

  it("rejects unknown protocols, samplers and ratios", () => {
    const e = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4317" };
    expect(() => tracingSettings({ ...e, OTEL_EXPORTER_OTLP_PROTOCOL: "udp" }, "x")).toThrow(
      'OTEL_EXPORTER_OTLP_PROTOCOL: "udp" must be one of grpc, http/protobuf, http/json',
    );
    expect(() => tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://c:21" }, "x")).toThrow(
      OtelEnvError,
    );
    expect(() => tracingSettings({ ...e, OTEL_TRACES_SAMPLER: "sometimes" }, "x")).toThrow(OtelEnvError);
    expect(() =>
      tracingSettings({ ...e, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }, "x"),
    ).toThrow(OtelEnvError);
  });
});
