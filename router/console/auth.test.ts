import type * as http from "node:http";
import { authorize } from "./auth";

const req = (authorization?: string): http.IncomingMessage =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as http.IncomingMessage;

describe("console authorize", () => {
  it("lets anyone read", () => {
    expect(authorize(req(), "read", undefined)).toBe(true);
    expect(authorize(req(), "read", "t")).toBe(true);
  });

  it("allows writes only with the configured bearer token", () => {
    expect(authorize(req("Bearer secret"), "write", "secret")).toBe(true);
    expect(authorize(req("Bearer secreT"), "write", "secret")).toBe(false);
    expect(authorize(req("Bearer secret2"), "write", "secret")).toBe(false);
    expect(authorize(req("secret"), "write", "secret")).toBe(false);
    expect(authorize(req(), "write", "secret")).toBe(false);
  });

  it("allows no writes when no token is configured", () => {
    expect(authorize(req("Bearer "), "write", undefined)).toBe(false);
    expect(authorize(req("Bearer x"), "write", "")).toBe(false);
  });
});
