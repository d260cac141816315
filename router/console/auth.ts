/**
 * Who may do what on the console: reads are open, writes (dead-letter replay) need the router's
 * console admin token as `Authorization: Bearer <token>`; without a configured token there are no
 * writes at all. The one place to swap in the router's admin credential once it exists.
 */
import { timingSafeEqual } from "node:crypto";
import type * as http from "node:http";

export type ConsoleAction = "read" | "write";

export function authorize(
  req: http.IncomingMessage,
  action: ConsoleAction,
  token: string | undefined,
): boolean {
  if (action === "read") return true;
  if (token === undefined || token === "") return false;
  const header = req.headers.authorization ?? "";
  const m = /^Bearer (.+)$/.exec(header);
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
