/**
 * TLS credentials from PEM files, reloaded when the files change, for every
 * server and channel between our own processes.
 *
 *   cert/key/CA files ─(stat every reloadMs; changed → read, check)─▶ ReloadingCertificates
 *        │ valid: publish to listeners             └ invalid (half-written, key ≠ cert): keep the last good set, warn
 *        ▼
 *   grpc-js certificate-provider credentials (experimental API of @grpc/grpc-js 1.14):
 *     server: createCertificateProviderServerCredentials → Http2SecureServer.setSecureContext()
 *             on each update: new handshakes use the new files, open connections carry on
 *     client: createCertificateProviderChannelCredentials → a fresh SecureContext per new connection
 *
 * Nothing is restarted and no stream is closed by a rotation: an HTTP/2
 * connection, once established, lives on with the certificate it was made
 * with, and every new connection gets the current files. A server asks for a
 * client certificate whenever a CA is set, but does not refuse the handshake
 * without one: the auth interceptor (auth.ts) refuses the call instead, so
 * the refusal is logged and counted, and health stays reachable for probes.
 */
import * as fs from "node:fs";
import * as tls from "node:tls";
import { X509Certificate, createPrivateKey } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { ConveyorError } from "../errors";
import type { Logger } from "../telemetry/log";
import { identityFromCertificate } from "./identity";

type Provider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Trust anchor for peers (both directions): set it for mutual TLS. */
  caFile?: string;
}

export interface TlsSettings extends TlsFiles {
  /** How often the files are looked at (stat) for a change. */
  reloadMs: number;
  /** The SPIFFE trust domain a peer's URI SAN must be in. */
  trustDomain: string;
}

interface Loaded {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Reads and checks a set of files: the key must belong to the certificate, and all must parse. */
export function loadTlsFiles(files: TlsFiles): Loaded {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new ConveyorError(
        "CONFIG_INVALID",
        `cannot read the TLS ${what} ${file}: ${(err as Error).message}`,
        { file },
        { cause: err },
      );
    }
  };
  const cert = read(files.certFile, "certificate");
  const key = read(files.keyFile, "private key");
  const ca = files.caFile !== undefined ? read(files.caFile, "CA certificate") : undefined;
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key)))
      throw new Error(
        `the private key ${files.keyFile} does not belong to the certificate ${files.certFile}`,
      );
    if (ca !== undefined) new X509Certificate(ca);
    tls.createSecureContext({ cert, key, ...(ca !== undefined ? { ca } : {}) });
  } catch (err) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `TLS files unusable (${files.certFile}, ${files.keyFile}${files.caFile ? `, ${files.caFile}` : ""}): ${(err as Error).message}`,
      { certFile: files.certFile, keyFile: files.keyFile },
      { cause: err },
    );
  }
  return ca !== undefined ? { cert, key, ca } : { cert, key };
}

function fingerprint(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.caFile]
    .map((f) => {
      if (f === undefined) return "-";
      try {
        const s = fs.statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return "missing";
      }
    })
    .join("|");
}

/**
 * One set of files, read at construction (a bad set stops the process with
 * CONFIG_INVALID) and again whenever a file's inode, size or mtime changes.
 * It is a grpc-js CertificateProvider for both the identity and the CA.
 */
export class ReloadingCertificates implements Provider {
  private current: Loaded;
  private seen: string;
  private readonly timer: NodeJS.Timeout;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly reloadListeners = new Set<() => void>();
  /** Successful reloads since start (the first load not counted). */
  reloads = 0;

  constructor(
    readonly settings: TlsSettings,
    private readonly log?: Logger,
  ) {
    this.seen = fingerprint(settings);
    this.current = loadTlsFiles(settings);
    this.timer = setInterval(() => this.check(), settings.reloadMs);
    this.timer.unref();
  }

  get mutual(): boolean {
    return this.settings.caFile !== undefined;
  }

  /** The certificate's SPIFFE id in our trust domain, if it has one (for logs). */
  get identity(): string | undefined {
    const san = new X509Certificate(this.current.cert).subjectAltName;
    return identityFromCertificate(san, this.settings.trustDomain)?.uri;
  }

  /** The current certificate chain and key (e.g. for an HTTPS server). */
  keyPair(): { cert: Buffer; key: Buffer } {
    return { cert: this.current.cert, key: this.current.key };
  }

  /** Called after each successful reload. */
  onReload(listener: () => void): void {
    this.reloadListeners.add(listener);
  }

  /** Looks at the files now (the timer does this every reloadMs). */
  check(): void {
    const now = fingerprint(this.settings);
    if (now === this.seen) return;
    let loaded: Loaded;
    try {
      loaded = loadTlsFiles(this.settings);
    } catch (err) {
      // A rotation writes files one by one: a cert without its key yet is normal for a moment.
      // Keep serving with the last good set and look again next time.
      this.log?.warn(
        { err: (err as Error).message },
        "TLS files changed but are not usable yet; keeping the previous certificate",
      );
      return;
    }
    this.seen = now;
    this.current = loaded;
    this.reloads++;
    this.log?.info(
      { certFile: this.settings.certFile, identity: this.identity, reloads: this.reloads },
      "TLS certificate reloaded",
    );
    for (const l of this.identityListeners) l({ certificate: loaded.cert, privateKey: loaded.key });
    if (loaded.ca !== undefined) for (const l of this.caListeners) l({ caCertificate: loaded.ca });
    for (const l of this.reloadListeners) l();
  }

  close(): void {
    clearInterval(this.timer);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    const ca = this.current.ca;
    if (ca !== undefined) process.nextTick(listener, { caCertificate: ca });
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    const { cert, key } = this.current;
    process.nextTick(listener, { certificate: cert, privateKey: key });
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

/** Plaintext without TLS files; TLS with them; a client certificate asked for when a CA is set. */
export function serverCredentials(certs: ReloadingCertificates | undefined): grpc.ServerCredentials {
  if (!certs) return grpc.ServerCredentials.createInsecure();
  // grpc-js names the first parameter caCertificateProvider but passes it on as the identity
  // provider (server-credentials.ts, 1.14): one provider serves both, so the order does not matter.
  return grpc.experimental.createCertificateProviderServerCredentials(
    certs,
    certs.mutual ? certs : null,
    false,
  );
}

/**
 * Credentials of a channel to another of our processes (a peer sidecar, the
 * router). With a CA: the server must present a certificate from it, with a
 * SPIFFE id in our trust domain (pods are dialled by IP, which their
 * certificates need not name) or else a name matching the address; and this
 * process presents its own certificate (mutual TLS).
 */
export function channelCredentials(certs: ReloadingCertificates | undefined): grpc.ChannelCredentials {
  if (!certs) return grpc.credentials.createInsecure();
  const { trustDomain } = certs.settings;
  const checkServerIdentity = (host: string, cert: tls.PeerCertificate): Error | undefined =>
    identityFromCertificate(cert.subjectaltname, trustDomain) !== undefined
      ? undefined
      : tls.checkServerIdentity(host, cert);
  if (!certs.mutual) return grpc.credentials.createSsl(null, null, null, {});
  return grpc.experimental.createCertificateProviderChannelCredentials(certs, certs, { checkServerIdentity });
}
