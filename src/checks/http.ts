/**
 * The `http` check: the status (and optionally the body) of a URL. A connection failure or a
 * timeout is an `error` — "could not look" — not "down": a watch on a status page must not
 * page someone because the laptop was offline. Use `status: 5xx` style expectations for that.
 */
import type { CheckResult, CheckSpec } from "../domain/check.js";
import { errorMessage } from "../lib/error-message.js";

type HttpCheck = Extract<CheckSpec, { kind: "http" }>;

/** Long enough for a slow page, short enough for a watch that runs every few minutes. */
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 1024 * 1024;

export async function evaluateHttpCheck(
  check: HttpCheck,
  options: { signal: AbortSignal; fetch?: typeof fetch; timeoutMs?: number },
): Promise<CheckResult> {
  const started = Date.now();
  let response: Response;
  let body: string | null;
  try {
    response = await (options.fetch ?? fetch)(check.url, {
      method: check.method,
      headers: { "user-agent": "loopd-check", ...check.headers },
      redirect: "follow",
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS)]),
    });
    // The timeout covers the body too: a server that sends headers and then stalls is "could not look".
    body = check.contains !== undefined || check.matches !== undefined ? await readBody(response) : null;
  } catch (error) {
    const message = errorMessage(error);
    return {
      status: "error",
      summary: `${check.method} ${check.url} failed: ${message}`,
      evidence: { url: check.url, error: message },
      error: { code: "LOOPD_CHECK_ERROR", message: `${check.method} ${check.url}: ${message}` },
    };
  }
  if (body === null) await response.body?.cancel().catch(() => {});
  const evidence: Record<string, unknown> = {
    url: check.url,
    method: check.method,
    status: response.status,
    ms: Date.now() - started,
    ...(body !== null ? { bodyStart: body.slice(0, 300) } : {}),
  };
  const problems: string[] = [];
  if (!statusMatches(response.status, check.status))
    problems.push(`answered ${response.status}, expected ${check.status}`);
  if (body !== null && check.contains !== undefined && !body.includes(check.contains))
    problems.push(`the body does not contain "${check.contains}"`);
  if (body !== null && check.matches !== undefined && !new RegExp(check.matches).test(body))
    problems.push(`the body does not match /${check.matches}/`);
  return problems.length === 0
    ? { status: "satisfied", summary: `${check.method} ${check.url} answered ${response.status}`, evidence }
    : { status: "unsatisfied", summary: `${check.method} ${check.url} ${problems.join("; ")}`, evidence };
}

function statusMatches(status: number, expected: HttpCheck["status"]): boolean {
  if (typeof expected === "number") return status === expected;
  return Math.floor(status / 100) === Number(expected[0]);
}

/** The body up to MAX_BODY_BYTES: a watch must not buffer a download. */
async function readBody(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_BODY_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES));
}
