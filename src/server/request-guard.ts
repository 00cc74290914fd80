/**
 * Keeps web pages from driving the daemon. A page in the user's browser can send requests to
 * 127.0.0.1 (it cannot read the answers, but a POST that runs a command needs no answer), and
 * through DNS rebinding it can even read them, under its own name. So, before any route:
 *
 * 1. `Host` must be a name this daemon serves: an IP address (a rebinding page's requests
 *    carry the attacker's name, never an address), `localhost` / `*.localhost`, the address it
 *    listens on, this machine's hostname, or a name given with `--allow-host` /
 *    LOOPD_ALLOWED_HOSTS (a proxy's public name).
 * 2. `Origin`, when sent, must be the daemon itself (or an allowed name): browsers send it on
 *    every cross-origin request, `no-cors` ones included; `Origin: null` is refused.
 * 3. A state change under /api/v1 (any method but GET/HEAD/OPTIONS) must be a request a page
 *    cannot send without a CORS preflight, which the daemon never grants: a JSON body, an
 *    `X-Loopd-Client` header (the CLI, MCP and the dashboard send one) or an `Authorization`
 *    header. A bodiless or `text/plain` POST is refused even without an `Origin`.
 *
 * `/hooks/*` are left alone: they are called by other servers (through tunnels and proxies
 * under any name) and carry their own signatures. So is `/healthz`, for probes.
 */
import { isIP } from "node:net";
import { hostname } from "node:os";
import type { Context, MiddlewareHandler } from "hono";
import { LoopdError } from "../domain/errors.js";
import { problem } from "./api/errors.js";

export const CLIENT_HEADER = "x-loopd-client";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface RequestGuardOptions {
  /** The address the server listens on (`--host`). */
  boundHost: string;
  /** Extra names (`--allow-host`, LOOPD_ALLOWED_HOSTS); `*` allows any. */
  allowedHosts: readonly string[];
}

export function guardBrowserRequests(options: RequestGuardOptions): MiddlewareHandler {
  const extra = new Set(options.allowedHosts.map(normalise));
  const names = new Set([normalise(options.boundHost), normalise(hostname()), ...extra]);
  return async (c, next) => {
    const path = c.req.path;
    if (path.startsWith("/hooks/") || path === "/healthz") return next();
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    const name = hostOf(host);
    if (!(names.has("*") || names.has(name) || isIpAddress(name) || isLocalhost(name))) {
      return forbidden(
        c,
        `Host "${host}" is not a name this daemon serves`,
        `A web page reached the daemon under another name (DNS rebinding), or a proxy forwards its own name: if ${name} is yours, start \`loopd serve --allow-host ${name}\` (or set LOOPD_ALLOWED_HOSTS).`,
      );
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && !sameOrigin(origin, host, extra)) {
      return forbidden(
        c,
        `requests from ${origin} are refused: only the dashboard at this address may call the daemon from a browser`,
        "Use the dashboard `loopd open` prints, the CLI, or an HTTP client that sends no Origin; behind a proxy, name its host with --allow-host.",
      );
    }
    if (path.startsWith("/api/") && !SAFE_METHODS.has(c.req.method) && isSimple(c)) {
      return forbidden(
        c,
        `${c.req.method} ${path} was sent as a simple request (no JSON body, no ${CLIENT_HEADER} header), which any web page can send`,
        `Send \`Content-Type: application/json\` with a JSON body (\`{}\` will do) or an \`X-Loopd-Client: <your tool>\` header.`,
      );
    }
    return next();
  };
}

function forbidden(c: Context, message: string, hint: string): Response {
  return problem(c, new LoopdError("LOOPD_API_FORBIDDEN", message, { hint }));
}

/** Whether a browser could have sent this request cross-origin without a preflight. */
function isSimple(c: Context): boolean {
  if (c.req.header(CLIENT_HEADER) !== undefined || c.req.header("authorization") !== undefined) return false;
  const type = (c.req.header("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  return !(type === "application/json" || type.endsWith("+json"));
}

function sameOrigin(origin: string, host: string, extra: ReadonlySet<string>): boolean {
  let url: URL;
  try {
    url = new URL(origin); // "null" (sandboxed frames, file://) throws: refused
  } catch {
    return false;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  return (
    url.host.toLowerCase() === host.toLowerCase() || extra.has("*") || extra.has(normalise(url.hostname))
  );
}

/** `host[:port]` → host, lowercase, IPv6 without brackets. */
export function hostOf(host: string): string {
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith("[")) {
    const end = trimmed.indexOf("]");
    return end < 0 ? trimmed.slice(1) : trimmed.slice(1, end);
  }
  const colon = trimmed.lastIndexOf(":");
  return colon >= 0 && trimmed.indexOf(":") === colon ? trimmed.slice(0, colon) : trimmed;
}

function normalise(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
}

function isLocalhost(name: string): boolean {
  const bare = name.replace(/\.$/, "");
  return bare === "localhost" || bare.endsWith(".localhost");
}

function isIpAddress(name: string): boolean {
  return isIP(name) !== 0;
}
