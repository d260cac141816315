/**
 * Discovery: which Source/Transform/Sink services run in this pod, and where.
 *
 *   every port in start..end (≤ 32 at once, one deadline per port)
 *     └─ server reflection v1 (v1alpha if v1 is UNIMPLEMENTED): list services
 *          └─ per service: kind by name or by method shape (rule below)
 *               └─ Describe() → stage name, version, partitions
 *
 * A port that is closed, is not gRPC, or has no reflection yields nothing and
 * is logged at debug: a pod runs all sorts of things on its ports, and
 * discovery must never crash or hang on any of them.
 *
 * Kind rule (documented for stage authors):
 *  1. A service named conveyor.v1.Source, conveyor.v1.Transform or
 *     conveyor.v1.Sink has that kind.
 *  2. Any other service (e.g. acme.Enricher) is a stage when it has exactly one
 *     of these bidi-streaming methods, with exactly these message types, since
 *     the data path calls /<service>/<method> with the conveyor.v1 messages:
 *       Read(stream conveyor.v1.ReadRequest)       returns (stream conveyor.v1.ReadResponse)     → source
 *       Process(stream conveyor.v1.ProcessRequest) returns (stream conveyor.v1.ProcessResponse) → transform
 *       Write(stream conveyor.v1.WriteRequest)     returns (stream conveyor.v1.WriteResponse)   → sink
 *     A service matching more than one shape is ambiguous and skipped (warn).
 *  3. The stage name is Describe().name when the service has
 *     Describe(conveyor.v1.DescribeRequest) returns (conveyor.v1.StageInfo) and
 *     answers it; a service without Describe, or whose Describe fails (e.g.
 *     UNIMPLEMENTED, INTERNAL), is named by its fully-qualified service name.
 *     A Describe that times out or cannot connect skips the service for this
 *     scan instead: naming it by its service name would rename the stage (and
 *     make the router reassign it) until the next scan.
 *  Never stages: grpc.health.v1.Health, grpc.reflection.*, conveyor.v1.DataPlane/Router/Admin.
 */
import * as grpc from "@grpc/grpc-js";
import { ConveyorError } from "../src/errors";
import type { LocalService__Output } from "../src/generated/conveyor/v1/LocalService";
import type { StageInfo__Output } from "../src/generated/conveyor/v1/StageInfo";
import { SERVICE, STAGE_CHANNEL_OPTIONS, v1 } from "../src/proto";
import { STAGE_KIND_TO_PROTO, STAGE_KINDS, stageKindFromProto, type StageKind } from "../src/stages/contract";
import { createLogger, type Logger } from "../src/telemetry/log";
import { metrics } from "../src/telemetry/metrics";
import { ReflectionClient } from "./reflection-client";

export const DEFAULT_SCAN_TIMEOUT_MS = 1500;
export const DEFAULT_SCAN_CONCURRENCY = 32;
/**
 * Extra time past the per-port deadline before we give up on a port
 * ourselves: the reflection client can wait forever on a stream that ends
 * without an answer, so the call deadline alone is not a bound.
 */
const GUARD_SLACK_MS = 250;

export interface ScanOptions {
  host: string;
  startPort: number;
  endPort: number;
  /** Budget for everything done on one port (default 1500 ms). */
  timeoutMs?: number;
  /** Ports probed at once (default 32). */
  concurrency?: number;
  log?: Logger;
}

/** Services on a port that are never stage services. */
const NEVER_STAGES: ReadonlySet<string> = new Set([
  SERVICE.health,
  SERVICE.dataPlane,
  SERVICE.router,
  SERVICE.admin,
]);
const REFLECTION_PREFIX = "grpc.reflection.";

const SERVICE_NAME_KINDS: { readonly [service: string]: StageKind } = {
  [SERVICE.source]: "source",
  [SERVICE.transform]: "transform",
  [SERVICE.sink]: "sink",
};

/** The method each stage kind must have (rule 2 above). */
const STAGE_SHAPES = {
  source: { method: "Read", request: "conveyor.v1.ReadRequest", response: "conveyor.v1.ReadResponse" },
  transform: {
    method: "Process",
    request: "conveyor.v1.ProcessRequest",
    response: "conveyor.v1.ProcessResponse",
  },
  sink: { method: "Write", request: "conveyor.v1.WriteRequest", response: "conveyor.v1.WriteResponse" },
} as const satisfies { [K in StageKind]: { method: string; request: string; response: string } };

/** A method as reflection describes it, with fully-qualified message names (no leading dot). */
export interface MethodShape {
  name: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: string;
  responseType: string;
}

/** Rule 1: the kind of a conveyor.v1 stage service, by name. */
export function kindFromServiceName(service: string): StageKind | undefined {
  return SERVICE_NAME_KINDS[service];
}

/** Rule 2: every stage kind whose method shape the service has (0 = not a stage, >1 = ambiguous). */
export function kindsFromMethods(methods: readonly MethodShape[]): StageKind[] {
  return STAGE_KINDS.filter((kind) => {
    const shape = STAGE_SHAPES[kind];
    return methods.some(
      (m) =>
        m.name === shape.method &&
        m.requestStream &&
        m.responseStream &&
        m.requestType === shape.request &&
        m.responseType === shape.response,
    );
  });
}

/** Rule 3: does the service have the conveyor Describe method? */
export function hasDescribe(methods: readonly MethodShape[]): boolean {
  return methods.some(
    (m) =>
      m.name === "Describe" &&
      !m.requestStream &&
      !m.responseStream &&
      m.requestType === "conveyor.v1.DescribeRequest" &&
      m.responseType === "conveyor.v1.StageInfo",
  );
}

export function isCandidateService(service: string): boolean {
  return !NEVER_STAGES.has(service) && !service.startsWith(REFLECTION_PREFIX);
}

/**
 * Scans host:startPort..endPort and returns the stage services found, sorted
 * by port then service. Never throws for what is on a port (only for invalid
 * options); each port takes at most about timeoutMs.
 */
export async function scanPorts(opts: ScanOptions): Promise<LocalService__Output[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SCAN_TIMEOUT_MS;
  const concurrency = opts.concurrency ?? DEFAULT_SCAN_CONCURRENCY;
  validateScanOptions(opts, timeoutMs, concurrency);
  const log = opts.log ?? createLogger("discovery");

  const ports: number[] = [];
  for (let p = opts.startPort; p <= opts.endPort; p++) ports.push(p);
  const perPort: LocalService__Output[][] = new Array<LocalService__Output[]>(ports.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ports.length) {
      const i = next++;
      perPort[i] = await scanPort(opts.host, ports[i]!, timeoutMs, log);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ports.length) }, worker));

  // Ports are scanned in order and each port's services are sorted: the result is ordered by port, service.
  const services = perPort.flat();
  for (const kind of STAGE_KINDS) {
    metrics.discoveredServices.set(
      { kind },
      services.filter((s) => stageKindFromProto(s.kind) === kind).length,
    );
  }
  return services;
}

function validateScanOptions(opts: ScanOptions, timeoutMs: number, concurrency: number): void {
  const validPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;
  if (!validPort(opts.startPort) || !validPort(opts.endPort) || opts.startPort > opts.endPort) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      "discovery port range must satisfy 1 <= start <= end <= 65535",
      {
        actual: { startPort: opts.startPort, endPort: opts.endPort },
      },
    );
  }
  if (!(timeoutMs > 0) || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      "discovery timeoutMs must be > 0 and concurrency a positive integer",
      {
        actual: { timeoutMs, concurrency },
      },
    );
  }
}

export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Everything found on one port, or [] (debug-logged) when the port has no stage services to offer. */
async function scanPort(
  host: string,
  port: number,
  timeoutMs: number,
  log: Logger,
): Promise<LocalService__Output[]> {
  const endpoint = formatEndpoint(host, port);
  const probe = new PortProbe(endpoint, new Date(Date.now() + timeoutMs), log);
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConveyorError("TIMEOUT", `no answer within ${timeoutMs} ms`, { endpoint })),
      timeoutMs + GUARD_SLACK_MS,
    );
  });
  try {
    return await Promise.race([probe.run(), guard]);
  } catch (err) {
    log.debug({ endpoint, reason: errorMessage(err) }, "port skipped: no gRPC server reflection answered");
    return [];
  } finally {
    clearTimeout(timer);
    probe.close();
  }
}

/** The conveyor Describe method, identical on every stage service; used to call it on any service name. */
const DESCRIBE = v1.Transform.service.Describe;

type DescribeOutcome =
  | { kind: "ok"; info: StageInfo__Output }
  /** Not implemented or answered with an error: the service is named by its service name. */
  | { kind: "missing" }
  /** No answer this time (deadline, connection): try again next scan. */
  | { kind: "unanswered"; err: unknown };

/** Describe failures that say nothing about the service, only about this attempt. */
const TRANSIENT_CODES: ReadonlySet<grpc.status> = new Set([
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNAVAILABLE,
  grpc.status.CANCELLED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

/** One port's work; every call shares one deadline, and close() releases every channel opened. */
class PortProbe {
  private readonly opened: ReflectionClient[] = [];

  constructor(
    private readonly endpoint: string,
    private readonly deadline: Date,
    private readonly log: Logger,
  ) {}

  async run(): Promise<LocalService__Output[]> {
    const { reflection, services } = await this.listServices();
    const found: LocalService__Output[] = [];
    for (const service of [...services].sort()) {
      if (!isCandidateService(service)) continue;
      const s = await this.inspect(reflection, service);
      if (s !== undefined) found.push(s);
    }
    return found;
  }

  close(): void {
    for (const r of this.opened) r.close();
  }

  private open(version: "v1" | "v1alpha"): ReflectionClient {
    const reflection = new ReflectionClient(this.endpoint, version, STAGE_CHANNEL_OPTIONS);
    this.opened.push(reflection);
    return reflection;
  }

  /** Reflection v1 first; older servers only speak v1alpha. */
  private async listServices(): Promise<{ reflection: ReflectionClient; services: string[] }> {
    const v1Reflection = this.open("v1");
    try {
      return {
        reflection: v1Reflection,
        services: await v1Reflection.listServices(this.deadline),
      };
    } catch (err) {
      if (reflectionErrorCode(err) !== grpc.status.UNIMPLEMENTED) throw err;
    }
    const alpha = this.open("v1alpha");
    return { reflection: alpha, services: await alpha.listServices(this.deadline) };
  }

  private async inspect(
    reflection: ReflectionClient,
    service: string,
  ): Promise<LocalService__Output | undefined> {
    let kind = kindFromServiceName(service);
    let describable = true;
    if (kind === undefined) {
      let methods: MethodShape[];
      try {
        methods = await this.methodsOf(reflection, service);
      } catch (err) {
        this.log.debug(
          { endpoint: this.endpoint, service, reason: errorMessage(err) },
          "service skipped: no descriptor",
        );
        return undefined;
      }
      const kinds = kindsFromMethods(methods);
      if (kinds.length === 0) {
        this.log.debug({ endpoint: this.endpoint, service }, "service skipped: not a stage service");
        return undefined;
      }
      if (kinds.length > 1) {
        this.log.warn(
          { endpoint: this.endpoint, service, kinds },
          "service skipped: it has the shape of several stage kinds",
        );
        return undefined;
      }
      kind = kinds[0]!;
      describable = hasDescribe(methods);
    }

    const described: DescribeOutcome = describable
      ? await this.describe(reflection, service)
      : { kind: "missing" };
    if (described.kind === "unanswered") {
      this.log.debug(
        { endpoint: this.endpoint, service, reason: errorMessage(described.err) },
        "service skipped this scan: Describe did not answer",
      );
      return undefined;
    }
    const info = described.kind === "ok" ? described.info : undefined;
    return {
      endpoint: this.endpoint,
      service,
      kind: STAGE_KIND_TO_PROTO[kind],
      stageName: info?.name || service,
      version: info?.version ?? "",
      partitions: [...(info?.partitions ?? [])],
    };
  }

  /**
   * The service's methods with fully-qualified message names, from the
   * reflected descriptors. (listMethods() would give only short message
   * names, so a look-alike acme.ProcessRequest could pass for conveyor's.)
   */
  private async methodsOf(reflection: ReflectionClient, service: string): Promise<MethodShape[]> {
    const root = await reflection.rootOf(service, this.deadline);
    const svc = root.lookupService(service);
    svc.resolveAll();
    return svc.methodsArray.map((m) => ({
      name: m.name,
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      requestType: stripDot(m.resolvedRequestType?.fullName ?? m.requestType),
      responseType: stripDot(m.resolvedResponseType?.fullName ?? m.responseType),
    }));
  }

  /** Describe on the reflection channel (same connection), under the port's deadline. */
  private describe(reflection: ReflectionClient, service: string): Promise<DescribeOutcome> {
    return new Promise((resolve) => {
      reflection.client.makeUnaryRequest(
        `/${service}/Describe`,
        DESCRIBE.requestSerialize,
        DESCRIBE.responseDeserialize,
        {},
        { deadline: this.deadline },
        (err, info) => {
          if (err && TRANSIENT_CODES.has(err.code)) {
            resolve({ kind: "unanswered", err });
          } else if (err || info === undefined) {
            if (err?.code !== grpc.status.UNIMPLEMENTED) {
              this.log.debug({ endpoint: this.endpoint, service, reason: err?.message }, "Describe failed");
            }
            resolve({ kind: "missing" });
          } else {
            resolve({ kind: "ok", info });
          }
        },
      );
    });
  }
}

/** The gRPC code of a failed reflection call (a ServiceError or a ReflectionError), if it has one. */
export function reflectionErrorCode(err: unknown): grpc.status | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as Partial<grpc.ServiceError>).code;
  return typeof code === "number" ? code : undefined;
}

function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------

export interface DiscoveryOptions extends ScanOptions {
  /** Rescan period; 0 = only on demand (rescan()). */
  intervalMs: number;
}

export type DiscoveryListener = (current: LocalService__Output[], previous: LocalService__Output[]) => void;

/**
 * Keeps the last scan result fresh: scans every intervalMs and on demand
 * (rescan(), e.g. after a connection to a local service failed), and tells
 * listeners when the set of stage services changed.
 */
export class Discovery {
  private services: LocalService__Output[] = [];
  private inFlight: Promise<boolean> | undefined;
  private readonly listeners = new Set<DiscoveryListener>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private stopped = false;
  /** Wall-clock ms when the last scan finished (0 = never). */
  lastScanMs = 0;

  constructor(private readonly opts: DiscoveryOptions) {
    this.log = opts.log ?? createLogger("discovery");
    validateScanOptions(
      opts,
      opts.timeoutMs ?? DEFAULT_SCAN_TIMEOUT_MS,
      opts.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
    );
    if (opts.intervalMs > 0) {
      this.timer = setInterval(() => {
        this.rescan().catch((err: unknown) => this.log.warn({ err }, "periodic discovery scan failed"));
      }, opts.intervalMs);
      // Discovery alone must not keep the process alive.
      this.timer.unref();
    }
  }

  /** The last scan's services (sorted; replaced, never mutated, on change). */
  current(): LocalService__Output[] {
    return this.services;
  }

  /** Scans now; concurrent callers share one scan. Resolves true when the services changed. */
  rescan(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.inFlight ??= this.scan().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Calls cb after every scan that changed the services; returns the unsubscribe function. */
  onChange(cb: DiscoveryListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private async scan(): Promise<boolean> {
    const { host, startPort, endPort, timeoutMs, concurrency } = this.opts;
    const found = await scanPorts({ host, startPort, endPort, timeoutMs, concurrency, log: this.log });
    this.lastScanMs = Date.now();
    const previous = this.services;
    const changed = this.logChanges(previous, found);
    metrics.discoveryScans.inc({ outcome: changed ? "changed" : "unchanged" });
    if (!changed || this.stopped) return changed;
    this.services = found;
    for (const cb of this.listeners) {
      try {
        cb(found, previous);
      } catch (err) {
        // A listener's bug must not stop discovery or the other listeners.
        this.log.error({ err }, "discovery change listener threw");
      }
    }
    return true;
  }

  /** Logs found/lost/changed services at info; returns whether anything differs. */
  private logChanges(previous: LocalService__Output[], found: LocalService__Output[]): boolean {
    const key = (s: LocalService__Output): string => `${s.endpoint} ${s.service}`;
    const before = new Map(previous.map((s) => [key(s), s]));
    const after = new Map(found.map((s) => [key(s), s]));
    let changed = false;
    for (const [k, s] of after) {
      const old = before.get(k);
      if (old === undefined) {
        this.log.info(describeService(s), "stage service found");
        changed = true;
      } else if (!sameService(old, s)) {
        this.log.info({ ...describeService(s), previous: describeService(old) }, "stage service changed");
        changed = true;
      }
    }
    for (const [k, s] of before) {
      if (!after.has(k)) {
        this.log.info(describeService(s), "stage service lost");
        changed = true;
      }
    }
    return changed;
  }
}

function sameService(a: LocalService__Output, b: LocalService__Output): boolean {
  return (
    a.endpoint === b.endpoint &&
    a.service === b.service &&
    a.kind === b.kind &&
    a.stageName === b.stageName &&
    a.version === b.version &&
    a.partitions.length === b.partitions.length &&
    a.partitions.every((p, i) => p === b.partitions[i])
  );
}

function describeService(s: LocalService__Output): { [key: string]: unknown } {
  return { endpoint: s.endpoint, service: s.service, kind: s.kind, stage: s.stageName, version: s.version };
}
