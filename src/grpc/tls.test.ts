import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { X509Certificate } from "node:crypto";
import { makeCa, makeLeaf, type Ca } from "../testing/certs";
import { ConveyorError } from "../errors";
import { ReloadingCertificates, loadTlsFiles } from "./tls";

describe("TLS files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-tls-"));
  let ca: Ca;
  const uri = "spiffe://conveyor.local/ns/default/sidecar/a";
  let certs: ReloadingCertificates | undefined;

  beforeAll(() => {
    ca = makeCa(dir, "unit");
  });
  afterEach(() => certs?.close());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const settings = (stem: string) => ({
    certFile: path.join(dir, `${stem}.crt`),
    keyFile: path.join(dir, `${stem}.key`),
    caFile: ca.cert,
    reloadMs: 60_000, // the test calls check() itself
    trustDomain: "conveyor.local",
  });

  it("refuses a key that does not belong to the certificate, naming both files", () => {
    makeLeaf(ca, { stem: "one", uri });
    makeLeaf(ca, { stem: "two", uri });
    const bad = { ...settings("one"), keyFile: path.join(dir, "two.key") };
    expect(() => loadTlsFiles(bad)).toThrow(ConveyorError);
    expect(() => loadTlsFiles(bad)).toThrow(/two\.key does not belong to the certificate .*one\.crt/);
    expect(() => loadTlsFiles({ ...bad, certFile: path.join(dir, "missing.crt") })).toThrow(
      /cannot read the TLS certificate .*missing\.crt/,
    );
  });

  it("publishes a rotated certificate, and keeps the last good one while the files do not match", async () => {
    makeLeaf(ca, { stem: "rot", uri });
    certs = new ReloadingCertificates(settings("rot"));
    expect(certs.identity).toBe(uri);
    const seen: string[] = [];
    certs.addIdentityCertificateListener((u) => {
      if (u) seen.push(new X509Certificate(u.certificate).serialNumber);
    });
    await new Promise((r) => process.nextTick(r));
    expect(seen).toHaveLength(1);

    // Half a rotation: a new certificate beside the old key.
    const next = makeLeaf(ca, { stem: "rot-next", uri });
    fs.copyFileSync(next.cert, path.join(dir, "rot.crt"));
    certs.check();
    expect(seen).toHaveLength(1);
    expect(certs.reloads).toBe(0);

    fs.copyFileSync(next.key, path.join(dir, "rot.key"));
    certs.check();
    expect(certs.reloads).toBe(1);
    expect(seen).toHaveLength(2);
    expect(BigInt(`0x${seen[1]}`)).toBe(BigInt(`0x${next.serial}`));

    certs.check(); // nothing changed since
    expect(seen).toHaveLength(2);
  });
});
