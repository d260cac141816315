/**
 * A real Jaeger (v2 all-in-one, built into the tool cache by scripts/setup.sh) for tests and the bench:
 * memory storage, OTLP gRPC and HTTP receivers and the HTTP query API, each on a loopback port given by
 * the caller, nothing else (no UI assets, no metrics port, no sampling endpoints).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManagedProcess } from "../cluster/managed-process";
import { toolPath } from "./tools";

export interface JaegerPorts {
  host: string;
  otlpGrpc: number;
  otlpHttp: number;
  /** HTTP query API (/api/traces, /api/services). */
  query: number;
  /** The query service's gRPC port (not used by the tests, but it must not collide). */
  queryGrpc: number;
}

/** One span as the query API returns it (the fields the tests read). */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: "CHILD_OF" | "FOLLOWS_FROM"; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: Array<{ key: string; type: string; value: unknown }>;
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: { [id: string]: { serviceName: string; tags: Array<{ key: string; value: unknown }> } };
}

export class Jaeger {
  private constructor(
    readonly ports: JaegerPorts,
    private readonly process: ManagedProcess,
    private readonly dir: string,
  ) {}

  get otlpGrpcEndpoint(): string {
    return `http://${this.ports.host}:${this.ports.otlpGrpc}`;
  }

  get otlpHttpEndpoint(): string {
    return `http://${this.ports.host}:${this.ports.otlpHttp}`;
  }

  static async start(ports: JaegerPorts, logFile?: string): Promise<Jaeger> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-jaeger-"));
    const config = path.join(dir, "jaeger.yaml");
    fs.writeFileSync(config, configYaml(ports));
    const p = new ManagedProcess(
      "jaeger",
      toolPath("jaeger"),
      ["--config", config],
      { PATH: process.env.PATH },
      logFile,
    );
    const jaeger = new Jaeger(ports, p, dir);
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await jaeger.get("/api/services");
        return jaeger;
      } catch (err) {
        if (Date.now() > deadline) {
          await p.stop(2000);
          throw new Error(`jaeger did not serve its query API: ${String(err)}\n${p.output().slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** The trace with this id; undefined while Jaeger has none of its spans. */
  async trace(traceId: string): Promise<JaegerTrace | undefined> {
    const res = await fetch(this.url(`/api/traces/${traceId}`), { signal: AbortSignal.timeout(5000) });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`jaeger GET /api/traces/${traceId}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: JaegerTrace[] | null };
    return body.data?.[0];
  }

  /** Traces of a service (optionally one operation), newest first. */
  async traces(service: string, operation?: string, limit = 20): Promise<JaegerTrace[]> {
    const q = new URLSearchParams({ service, limit: String(limit), lookback: "1h" });
    if (operation) q.set("operation", operation);
    const body = (await this.get(`/api/traces?${q.toString()}`)) as { data: JaegerTrace[] | null };
    return body.data ?? [];
  }

  async stop(): Promise<void> {
    await this.process.stop(5000);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private url(p: string): string {
    return `http://${this.ports.host}:${this.ports.query}${p}`;
  }

  private async get(p: string): Promise<unknown> {
    const res = await fetch(this.url(p), { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`jaeger GET ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  }
}

/** A span's tag value by key. */
export function tagOf(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

/**
 * A trace as indented text, as Jaeger's timeline shows it: one line per span (children under their
 * parent, by start time) with its offset from the trace's start, duration, pod and chosen tags.
 */
export function renderTrace(trace: JaegerTrace, tags: readonly string[]): string {
  const spans = [...trace.spans].sort((a, b) => a.startTime - b.startTime);
  const ids = new Set(spans.map((s) => s.spanID));
  const parent = (s: JaegerSpan): string | undefined => {
    const id = s.references.find((r) => r.refType === "CHILD_OF")?.spanID;
    return id !== undefined && ids.has(id) ? id : undefined;
  };
  const t0 = spans[0]?.startTime ?? 0;
  const lines: string[] = [];
  const walk = (s: JaegerSpan, depth: number): void => {
    const shown = tags
      .map((k) => [k, tagOf(s, k)] as const)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`);
    const service = trace.processes[s.processID]?.serviceName ?? "?";
    lines.push(
      `${"  ".repeat(depth)}${s.operationName}  [${service}]  +${((s.startTime - t0) / 1000).toFixed(2)} ms, ` +
        `${(s.duration / 1000).toFixed(2)} ms  ${shown.join(" ")}`,
    );
    for (const c of spans) if (parent(c) === s.spanID) walk(c, depth + 1);
  };
  for (const s of spans) if (parent(s) === undefined) walk(s, 0);
  return lines.join("\n");
}

function configYaml(p: JaegerPorts): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: ${p.host}:${p.query}
    grpc:
      endpoint: ${p.host}:${p.queryGrpc}
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${p.host}:${p.otlpGrpc}
      http:
        endpoint: ${p.host}:${p.otlpHttp}
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`;
}
