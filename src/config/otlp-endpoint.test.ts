import { parseOtlpProtocol, resolveOtlpExport } from "./otlp-endpoint";

describe("resolveOtlpExport", () => {
  it("exports nothing without an endpoint", () => {
    expect(resolveOtlpExport({})).toBeUndefined();
    expect(resolveOtlpExport({ protocol: "grpc" })).toBeUndefined();
  });

  it("reads a bare host:port as plaintext OTLP/gRPC, as the wrapper's exporter did", () => {
    expect(resolveOtlpExport({ endpoint: "otel-collector:4317" })).toEqual({
      protocol: "grpc",
      url: "http://otel-collector:4317",
    });
    expect(resolveOtlpExport({ endpoint: "[::1]:5317" })).toEqual({
      protocol: "grpc",
      url: "http://[::1]:5317",
    });
  });

  it("infers gRPC for a URL on port 4317, OTLP/HTTP protobuf (the spec's default) for other URLs (base URL + /v1/traces)", () => {
    expect(resolveOtlpExport({ endpoint: "https://collector:4317" })).toEqual({
      protocol: "grpc",
      url: "https://collector:4317",
    });
    expect(resolveOtlpExport({ endpoint: "http://collector:4318/" })).toEqual({
      protocol: "http/protobuf",
      url: "http://collector:4318/v1/traces",
    });
    expect(resolveOtlpExport({ endpoint: "http://gw/otlp" })).toEqual({
      protocol: "http/protobuf",
      url: "http://gw/otlp/v1/traces",
    });
  });

  it("an explicit protocol wins over the inference; gRPC drops any path", () => {
    expect(resolveOtlpExport({ endpoint: "http://collector:4317", protocol: "http/protobuf" })).toEqual({
      protocol: "http/protobuf",
      url: "http://collector:4317/v1/traces",
    });
    expect(resolveOtlpExport({ endpoint: "collector:4318", protocol: "http/json" })).toEqual({
      protocol: "http/json",
      url: "http://collector:4318/v1/traces",
    });
    expect(resolveOtlpExport({ endpoint: "http://collector:9999/x", protocol: "grpc" })).toEqual({
      protocol: "grpc",
      url: "http://collector:9999",
    });
  });

  it("uses the traces endpoint as it is", () => {
    expect(resolveOtlpExport({ endpoint: "c:4317", tracesEndpoint: "http://t:4318/custom/traces" })).toEqual({
      protocol: "http/protobuf",
      url: "http://t:4318/custom/traces",
    });
  });

  it("refuses what it cannot use, saying what it takes", () => {
    expect(() => resolveOtlpExport({ endpoint: "otel-collector" })).toThrow(
      '"otel-collector" is neither host:port (OTLP/gRPC, e.g. otel-collector:4317) nor an http(s) URL',
    );
    expect(() => resolveOtlpExport({ endpoint: "ftp://c:21" })).toThrow(
      "the scheme must be http:// or https://",
    );
    expect(() => resolveOtlpExport({ endpoint: "c:99999" })).toThrow("port 99999 is out of range");
  });
});

describe("parseOtlpProtocol", () => {
  it("takes the three OTEL_EXPORTER_OTLP_PROTOCOL values of the spec", () => {
    expect(parseOtlpProtocol(" GRPC ")).toBe("grpc");
    expect(parseOtlpProtocol("http/protobuf")).toBe("http/protobuf");
    expect(parseOtlpProtocol("http/json")).toBe("http/json");
    expect(() => parseOtlpProtocol("udp")).toThrow('"udp" must be one of grpc, http/protobuf, http/json');
  });
});
