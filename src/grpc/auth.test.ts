import { createLogger } from "../telemetry/log";
import { Auth } from "./auth";

const log = createLogger("auth-test");

describe("Auth.isAdmin", () => {
  const auth = new Auth(
    { trustDomain: "conveyor.local", mutualTls: false, tokens: { admin: "secret", sidecar: "reg" } },
    log,
  );

  it("admits only the admin bearer token", () => {
    expect(auth.isAdmin({ authorization: "Bearer secret" })).toBe(true);
    expect(auth.isAdmin({ authorization: "Bearer secreT" })).toBe(false);
    expect(auth.isAdmin({ authorization: "Bearer secret2" })).toBe(false);
    expect(auth.isAdmin({ authorization: "secret" })).toBe(false);
    expect(auth.isAdmin({})).toBe(false);
    // Another role's token is not an admin's.
    expect(auth.isAdmin({ authorization: "Bearer reg" })).toBe(false);
  });

  it("admits an admin certificate, not a sidecar's", () => {
    const mtls = new Auth({ trustDomain: "conveyor.local", mutualTls: true, tokens: {} }, log);
    expect(mtls.isAdmin({ trustedSubjectAltName: "URI:spiffe://conveyor.local/ns/ops/admin/alice" })).toBe(
      true,
    );
    expect(mtls.isAdmin({ trustedSubjectAltName: "URI:spiffe://conveyor.local/ns/d/sidecar/a" })).toBe(false);
  });

  it("admits no one when the admin role is not protected (no admin token, no mTLS)", () => {
    const open = new Auth(
      { trustDomain: "conveyor.local", mutualTls: false, tokens: { sidecar: "reg" } },
      log,
    );
    expect(open.isAdmin({ authorization: "Bearer " })).toBe(false);
    expect(open.isAdmin({ authorization: "Bearer anything" })).toBe(false);
  });
});
