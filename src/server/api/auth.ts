/**
 * Bearer-token auth for /api/v1: `Authorization: Bearer <token>`, or `?access_token=` for
 * EventSource (which cannot set headers) and the dashboard's first load. Compared in
 * constant time over SHA-256 digests, so neither the content nor the length leaks.
 * A null token (`loopd serve --no-auth`, loopback only) lets every request through; what
 * keeps web pages out then (and always) is server/request-guard.ts. A 401 names the scheme
 * in `WWW-Authenticate` (RFC 6750).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { LoopdError } from "../../domain/errors.js";
import { problem } from "./errors.js";

export function requireApiToken(token: string | null): MiddlewareHandler {
  const expected = token === null ? null : digest(token);
  return async (c, next) => {
    if (expected === null) return next();
    const header = c.req.header("authorization");
    const given = header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? c.req.query("access_token");
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
    c.header(
      "WWW-Authenticate",
      given === undefined ? 'Bearer realm="loopd"' : 'Bearer realm="loopd", error="invalid_token"',
    );
    return problem(
      c,
      new LoopdError(
        "LOOPD_API_UNAUTHORIZED",
        given === undefined ? "this API needs a token" : "the API token is wrong",
      ),
    );
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
