/**
 * The HTTP API's bearer token: `<home>/api-token`, made on the first `loopd serve` (32 random
 * bytes, base64url) and readable by its owner only. Whoever can read the data dir can read
 * the store anyway, so the file is exactly as private as everything else loopd keeps.
 * `--no-auth` turns the token off, and only on a loopback address (`assertSafeBind`).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { LoopdError } from "../domain/errors.js";

export const API_TOKEN_FILE = "api-token";
const TOKEN_BYTES = 32;

/** Reads the token, creating it (mode 0600) when absent and tightening a wider mode. */
export async function ensureApiToken(home: string): Promise<string> {
  const file = join(home, API_TOKEN_FILE);
  const existing = await readApiToken(home);
  if (existing) {
    const mode = (await stat(file)).mode & 0o777;
    if (mode & 0o077) await chmod(file, 0o600);
    return existing;
  }
  await mkdir(home, { recursive: true, mode: 0o700 });
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  // `wx`: two daemons starting at once must not hand out different tokens.
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return ensureApiToken(home);
  }
  // The umask may have narrowed nothing but can never widen 0600; chmod is for odd file systems.
  await chmod(file, 0o600);
  return token;
}

/** The token, or undefined when no daemon has made one yet. */
export async function readApiToken(home: string): Promise<string | undefined> {
  try {
    const token = (await readFile(join(home, API_TOKEN_FILE), "utf8")).trim();
    return token.length > 0 ? token : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Whether `host` can only be reached from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1" || bare.startsWith("::ffff:127.");
}

/**
 * Refuses to serve an open API to the network: `--no-auth` is for loopback addresses only,
 * and its `--allow-host` names too (a proxy's public name would open it to whoever reaches it).
 */
export function assertSafeBind(options: {
  host: string;
  auth: boolean;
  allowedHosts?: readonly string[];
}): void {
  if (options.auth) return;
  const wide = (options.allowedHosts ?? []).find((name) => !isLoopbackHost(name));
  if (wide !== undefined) {
    throw new LoopdError(
      "LOOPD_SERVE_INSECURE",
      `--no-auth with --allow-host ${wide} would let anyone who reaches ${wide} run commands on this machine`,
      { hint: "Drop --no-auth (clients send the token in <home>/api-token), or allow loopback names only." },
    );
  }
  if (isLoopbackHost(options.host)) return;
  throw new LoopdError(
    "LOOPD_SERVE_INSECURE",
    `--no-auth on ${options.host} would let anyone who can reach it run commands on this machine`,
    {
      hint: "Drop --no-auth (clients send the token in <home>/api-token), or listen on 127.0.0.1 with --host.",
    },
  );
}

/** The dashboard URL a browser opens: the token rides in the fragment, which is never sent to servers. */
export function dashboardUrl(baseUrl: string, token: string | null): string {
  return token ? `${baseUrl}/#token=${token}` : `${baseUrl}/`;
}
