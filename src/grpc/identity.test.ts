import {
  bearerToken,
  checkSidecarIdentity,
  decide,
  identityFromCertificate,
  methodLabel,
  parseSpiffeId,
  requirementOf,
  roleOfToken,
  tokenEquals,
  uriSans,
  type AuthPolicy,
  type Role,
} from "./identity";

const TD = "conveyor.local";
const policy = (enforced: Role[], tokens: AuthPolicy["tokens"] = {}): AuthPolicy => ({
  trustDomain: TD,
  enforced: new Set(enforced),
  tokens,
});
const SIDECAR_A = `URI:spiffe://${TD}/ns/default/sidecar/a`;

describe("SPIFFE ids", () => {
  it("parses spiffe://<td>/ns/<ns>/<role>/<name>", () => {
    expect(parseSpiffeId("spiffe://conveyor.local/ns/prod/sidecar/pod-7")).toEqual({
      trustDomain: "conveyor.local",
      namespace: "prod",
      role: "sidecar",
      name: "pod-7",
    });
    expect(parseSpiffeId("spiffe://td/ns/x/admin/alice")?.role).toBe("admin");
  });

  it.each([
    "spiffe://td/ns/x/robot/a", // unknown role
    "spiffe://td/ns/x/sidecar", // no name
    "spiffe://td/ns/x/sidecar/a/b", // extra segment
    "spiffe://TD/ns/x/sidecar/a", // trust domains are lower-case
    "https://td/ns/x/sidecar/a",
    "spiffe://td/namespace/x/sidecar/a",
    "spiffe://td/ns/x/sidecar/a%2Fb",
  ])("rejects %s", (uri) => {
    expect(parseSpiffeId(uri)).toBeUndefined();
  });

  it("reads the URI entries of Node's subjectaltname string", () => {
    expect(uriSans(`DNS:localhost, ${SIDECAR_A}, IP Address:127.0.0.1`)).toEqual([
      `spiffe://${TD}/ns/default/sidecar/a`,
    ]);
    expect(uriSans(undefined)).toEqual([]);
  });

  it("takes the one SPIFFE id of the trust domain; none, a foreign one or two prove nothing", () => {
    expect(identityFromCertificate(`DNS:x, ${SIDECAR_A}`, TD)).toMatchObject({
      role: "sidecar",
      via: "certificate",
      namespace: "default",
      name: "a",
    });
    expect(identityFromCertificate("DNS:x", TD)).toBeUndefined();
    expect(identityFromCertificate("URI:spiffe://other.domain/ns/default/sidecar/a", TD)).toBeUndefined();
    expect(
      identityFromCertificate(`${SIDECAR_A}, URI:spiffe://${TD}/ns/default/admin/root`, TD),
    ).toBeUndefined();
  });
});

describe("tokens", () => {
  it("reads Bearer tokens only", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it("compares exactly, whatever the lengths", () => {
    expect(tokenEquals("s3cret", "s3cret")).toBe(true);
    expect(tokenEquals("s3cret", "s3cre")).toBe(false);
    expect(tokenEquals("", "x")).toBe(false);
  });

  it("finds the role of a token; an empty configured token matches nothing", () => {
    const tokens = { sidecar: "reg", admin: "adm", client: "" };
    expect(roleOfToken("adm", tokens)).toBe("admin");
    expect(roleOfToken("reg", tokens)).toBe("sidecar");
    expect(roleOfToken("", tokens)).toBeUndefined();
    expect(roleOfToken("other", tokens)).toBeUndefined();
  });
});

describe("method requirements", () => {
  it("maps every method to its role; health and reflection are public; unknown needs admin", () => {
    expect(requirementOf("/conveyor.v1.Router/Register")).toBe("sidecar");
    expect(requirementOf("/conveyor.v1.DataPlane/Forward")).toBe("sidecar");
    expect(requirementOf("/conveyor.v1.DataPlane/Inject")).toBe("client");
    expect(requirementOf("/conveyor.v1.DataPlane/Tap")).toBe("client");
    expect(requirementOf("/conveyor.v1.Admin/ApplyPipeline")).toBe("admin");
    expect(requirementOf("/grpc.health.v1.Health/Check")).toBe("public");
    expect(requirementOf("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")).toBe("public");
    expect(requirementOf("/conveyor.v1.DataPlane/NewThing")).toBe("admin");
    expect(requirementOf("/evil.Service/X")).toBe("admin");
  });

  it("labels unknown methods 'other' so the counter stays bounded", () => {
    expect(methodLabel("/conveyor.v1.Admin/ListPipelines")).toBe("conveyor.v1.Admin/ListPipelines");
    expect(methodLabel("/conveyor.v1.DataPlane/Forward")).toBe("conveyor.v1.DataPlane/Forward");
    expect(methodLabel("/evil.Service/X")).toBe("other");
    expect(methodLabel("/conveyor.v1.Admin/" + "x".repeat(10) + "/y")).toBe("other");
  });
});

describe("decide", () => {
  const tokens = { sidecar: "reg", admin: "adm", client: "dp" };
  const enforced = policy(["sidecar", "client", "admin"], tokens);

  it("lets everything in when nothing is enforced (the plaintext default)", () => {
    expect(decide("/conveyor.v1.Admin/ApplyPipeline", {}, policy([])).allowed).toBe(true);
  });

  it("keeps health public when everything else is enforced", () => {
    expect(decide("/grpc.health.v1.Health/Check", {}, enforced).allowed).toBe(true);
  });

  it("refuses a call without credentials: UNAUTHENTICATED", () => {
    expect(decide("/conveyor.v1.Router/Register", {}, enforced)).toMatchObject({
      allowed: false,
      code: "UNAUTHENTICATED",
      reason: "no_credentials",
    });
  });

  it("refuses an unknown token: UNAUTHENTICATED", () => {
    expect(
      decide("/conveyor.v1.Admin/ListPipelines", { authorization: "Bearer nope" }, enforced),
    ).toMatchObject({ allowed: false, code: "UNAUTHENTICATED", reason: "bad_token" });
    expect(decide("/conveyor.v1.Admin/ListPipelines", { authorization: "adm" }, enforced)).toMatchObject({
      allowed: false,
      reason: "bad_token",
    });
  });

  it("refuses a data-plane or sidecar credential on Admin: PERMISSION_DENIED", () => {
    expect(
      decide("/conveyor.v1.Admin/ApplyPipeline", { authorization: "Bearer dp" }, enforced),
    ).toMatchObject({ allowed: false, code: "PERMISSION_DENIED", reason: "wrong_role" });
    expect(
      decide("/conveyor.v1.Admin/ApplyPipeline", { trustedSubjectAltName: SIDECAR_A }, enforced),
    ).toMatchObject({ allowed: false, code: "PERMISSION_DENIED" });
  });

  it("accepts the role's token or certificate, and a token of the right role beside a certificate of another", () => {
    expect(decide("/conveyor.v1.Admin/ApplyPipeline", { authorization: "Bearer adm" }, enforced)).toEqual({
      allowed: true,
      identity: { role: "admin", via: "token" },
    });
    expect(
      decide("/conveyor.v1.DataPlane/Forward", { trustedSubjectAltName: SIDECAR_A }, enforced),
    ).toMatchObject({ allowed: true, identity: { role: "sidecar", name: "a" } });
    expect(
      decide(
        "/conveyor.v1.Admin/ListPipelines",
        { trustedSubjectAltName: SIDECAR_A, authorization: "Bearer adm" },
        enforced,
      ),
    ).toMatchObject({ allowed: true, identity: { role: "admin" } });
  });

  describe("an Admin call a router forwards for its caller", () => {
    const ROUTER_1 = `URI:spiffe://${TD}/ns/default/router/r1`;
    const vouched = { forwardedRole: "admin", forwardedFor: `spiffe://${TD}/ns/default/admin/ops` };

    it("is the caller's role when the connection's certificate is a router's", () => {
      expect(
        decide("/conveyor.v1.Admin/ApplyPipeline", { trustedSubjectAltName: ROUTER_1, ...vouched }, enforced),
      ).toEqual({
        allowed: true,
        identity: {
          role: "admin",
          via: "forwarded",
          uri: `spiffe://${TD}/ns/default/admin/ops`,
          forwardedBy: `spiffe://${TD}/ns/default/router/r1`,
        },
      });
    });

    it("cannot be forged by a sidecar or client certificate, a token, or without a certificate", () => {
      const CLIENT = `URI:spiffe://${TD}/ns/default/client/c`;
      for (const san of [SIDECAR_A, CLIENT])
        expect(
          decide("/conveyor.v1.Admin/ApplyPipeline", { trustedSubjectAltName: san, ...vouched }, enforced),
        ).toMatchObject({ allowed: false, code: "PERMISSION_DENIED", reason: "wrong_role" });
      expect(
        decide("/conveyor.v1.Admin/ApplyPipeline", { authorization: "Bearer dp", ...vouched }, enforced),
      ).toMatchObject({ allowed: false, code: "PERMISSION_DENIED" });
      expect(decide("/conveyor.v1.Admin/ApplyPipeline", vouched, enforced)).toMatchObject({
        allowed: false,
        code: "UNAUTHENTICATED",
      });
      // A router of another trust domain is no router of ours.
      expect(
        decide(
          "/conveyor.v1.Admin/ApplyPipeline",
          { trustedSubjectAltName: "URI:spiffe://evil.example/ns/default/router/r1", ...vouched },
          enforced,
        ),
      ).toMatchObject({ allowed: false, code: "UNAUTHENTICATED" });
    });

    it("vouches only for admin: a router cannot pass a call off as a sidecar's, nor is it an admin itself", () => {
      expect(
        decide(
          "/conveyor.v1.Router/Register",
          { trustedSubjectAltName: ROUTER_1, forwardedRole: "sidecar" },
          enforced,
        ),
      ).toMatchObject({ allowed: false, code: "PERMISSION_DENIED" });
      expect(
        decide("/conveyor.v1.Admin/ListPipelines", { trustedSubjectAltName: ROUTER_1 }, enforced),
      ).toMatchObject({ allowed: false, code: "PERMISSION_DENIED", reason: "wrong_role" });
    });
  });

  it("ignores a certificate of another trust domain", () => {
    expect(
      decide(
        "/conveyor.v1.DataPlane/Forward",
        { trustedSubjectAltName: "URI:spiffe://evil.example/ns/default/sidecar/a" },
        enforced,
      ),
    ).toMatchObject({ allowed: false, code: "UNAUTHENTICATED" });
  });
});

describe("checkSidecarIdentity", () => {
  const enforced = policy(["sidecar"]);
  const cert = { role: "sidecar" as const, via: "certificate" as const, namespace: "default", name: "a" };

  it("lets a sidecar act as itself only", () => {
    expect(checkSidecarIdentity(cert, { sidecarId: "a", namespace: "default" }, enforced).allowed).toBe(true);
    expect(checkSidecarIdentity(cert, { sidecarId: "b", namespace: "default" }, enforced)).toMatchObject({
      allowed: false,
      code: "PERMISSION_DENIED",
      reason: "sidecar_id_mismatch",
    });
    expect(checkSidecarIdentity(cert, { sidecarId: "a", namespace: "prod" }, enforced)).toMatchObject({
      allowed: false,
      reason: "sidecar_id_mismatch",
    });
  });

  it("cannot bind a registration token to an id; refuses other roles", () => {
    expect(
      checkSidecarIdentity({ role: "sidecar", via: "token" }, { sidecarId: "x" }, enforced).allowed,
    ).toBe(true);
    expect(checkSidecarIdentity({ role: "admin", via: "token" }, { sidecarId: "x" }, enforced).allowed).toBe(
      false,
    );
    expect(checkSidecarIdentity(undefined, { sidecarId: "x" }, policy([])).allowed).toBe(true);
  });
});
