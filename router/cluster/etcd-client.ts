/**
 * The etcd client of the router cluster. The etcd3 library's defaults suit
 * long-lived services that can wait: a host's circuit breaker stays open 5 s
 * after three failures, and watches reconnect with up to 30 s of backoff. A
 * router must notice etcd back within a lease TTL, so both are shortened; every
 * unary call gets a deadline (streams — watches, lease keep-alives — do not).
 *
 * TLS to etcd (ETCD_CA_FILE, and ETCD_CERT_FILE/ETCD_KEY_FILE for etcd's
 * --client-cert-auth): the files are read once at start (etcd3 builds its
 * channels from buffers); endpoints without a scheme are then https://.
 */
import * as fs from "node:fs";
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from "cockatiel";
import { Etcd3, isRecoverableError } from "etcd3";
import { ConveyorError } from "../../src/errors";

export const ETCD_CALL_DEADLINE_MS = 2000;

export interface EtcdTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** "a:2379,b:2379" (or with http:// / https://) → the client's host list. */
export function etcdHosts(endpoints: string, tls = false): string[] {
  return endpoints
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "")
    .map((e) => (/^https?:\/\//.test(e) ? e : `${tls ? "https" : "http"}://${e}`));
}

function etcdCredentials(
  files: EtcdTlsFiles,
): NonNullable<ConstructorParameters<typeof Etcd3>[0]>["credentials"] {
  if (files.caFile === undefined) {
    if (files.certFile !== undefined || files.keyFile !== undefined)
      throw new ConveyorError(
        "CONFIG_INVALID",
        "ETCD_CERT_FILE/ETCD_KEY_FILE need ETCD_CA_FILE (the CA of etcd's certificate)",
      );
    return undefined;
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined))
    throw new ConveyorError("CONFIG_INVALID", "ETCD_CERT_FILE and ETCD_KEY_FILE go together");
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new ConveyorError(
        "CONFIG_INVALID",
        `cannot read the etcd ${what} ${file}: ${(err as Error).message}`,
        { file },
        { cause: err },
      );
    }
  };
  return {
    rootCertificate: read(files.caFile, "CA certificate (ETCD_CA_FILE)"),
    ...(files.certFile !== undefined && files.keyFile !== undefined
      ? {
          certChain: read(files.certFile, "client certificate (ETCD_CERT_FILE)"),
          privateKey: read(files.keyFile, "client key (ETCD_KEY_FILE)"),
        }
      : {}),
  };
}

export function createEtcdClient(endpoints: string, tls: EtcdTlsFiles = {}): Etcd3 {
  const credentials = etcdCredentials(tls);
  return new Etcd3({
    hosts: etcdHosts(endpoints, credentials !== undefined),
    ...(credentials !== undefined ? { credentials } : {}),
    dialTimeout: ETCD_CALL_DEADLINE_MS,
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: new Date(Date.now() + ETCD_CALL_DEADLINE_MS) },
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 250,
          breaker: new ConsecutiveBreaker(3),
        }),
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }).next(),
    },
  });
}
