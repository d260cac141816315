/**
 * Certificates made at test time with openssl (Debian's, on PATH): a CA, and
 * leaf certificates signed by it with a SPIFFE URI SAN and the IP addresses
 * the test's processes listen on (so grpcurl's and the CLI's hostname checks pass).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface CertFiles {
  cert: string;
  key: string;
}

export interface Ca extends CertFiles {
  name: string;
  dir: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A self-signed CA in `dir/<name>-ca.{crt,key}`. */
export function makeCa(dir: string, name: string): Ca {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, `${name}-ca.crt`);
  const key = path.join(dir, `${name}-ca.key`);
  openssl(
    [
      "req",
      "-x509",
      ...EC,
      ...["-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name} test CA`],
      ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ],
    dir,
  );
  return { name, dir, cert, key };
}

export interface LeafSpec {
  /** File name stem: <stem>.crt, <stem>.key. */
  stem: string;
  /** URI SAN, e.g. spiffe://conveyor.local/ns/default/sidecar/a. */
  uri?: string;
  ips?: string[];
  dns?: string[];
}

/**
 * A leaf certificate signed by `ca`, written to `outDir` (default the CA's
 * dir). Each call makes a new key and serial, so calling it again on the same
 * stem is a rotation. The files are replaced by rename, key first.
 */
export function makeLeaf(ca: Ca, spec: LeafSpec, outDir = ca.dir): CertFiles & { serial: string } {
  const tmp = fs.mkdtempSync(path.join(ca.dir, `${spec.stem}-`));
  const sans = [
    ...(spec.uri ? [`URI:${spec.uri}`] : []),
    ...(spec.ips ?? []).map((ip) => `IP:${ip}`),
    ...(spec.dns ?? []).map((d) => `DNS:${d}`),
  ];
  const ext = path.join(tmp, "ext.cnf");
  fs.writeFileSync(
    ext,
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth,clientAuth",
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
    ].join("\n") + "\n",
  );
  const key = path.join(tmp, "leaf.key");
  const csr = path.join(tmp, "leaf.csr");
  const crt = path.join(tmp, "leaf.crt");
  openssl(["req", ...EC, "-keyout", key, "-out", csr, "-subj", `/CN=${spec.stem}`], tmp);
  // Positive and without a leading zero byte: the serial as Node's PeerCertificate prints it.
  const serial = (BigInt(`0x${randomBytes(8).toString("hex")}`) | (1n << 60n)).toString(16).toUpperCase();
  openssl(
    [
      "x509",
      "-req",
      ...["-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", `0x${serial}`],
      ...["-out", crt, "-days", "1", "-extfile", ext],
    ],
    tmp,
  );
  const out = { cert: path.join(outDir, `${spec.stem}.crt`), key: path.join(outDir, `${spec.stem}.key`) };
  fs.mkdirSync(outDir, { recursive: true });
  fs.renameSync(key, out.key);
  fs.renameSync(crt, out.cert);
  fs.rmSync(tmp, { recursive: true, force: true });
  return { ...out, serial };
}
