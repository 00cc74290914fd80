/**
 * One JSON POST with the retry classification every HTTP channel shares (webhook, Slack,
 * Discord): 2xx delivered; 408, 429, 5xx, timeouts and network errors worth retrying;
 * any other status is the receiver refusing this request, and the same request would be
 * refused again. Errors never include the URL: Slack and Discord URLs are credentials.
 */
import { errorMessage } from "../../lib/error-message.js";
import { DEFAULT_DELIVERY_TIMEOUT_MS, type DeliverOptions, type DeliveryResult } from "../event.js";
import { truncate } from "../message.js";

/** Enough of a refusal's body to see why ("invalid_payload", a JSON error), not a whole HTML page. */
const BODY_EXCERPT_MAX = 200;

export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "loopd", ...headers },
      body,
      // Covers the connection, the headers and reading the body: a receiver that stalls
      // half-way through its reply is as stuck as one that never answers.
      signal: AbortSignal.timeout(timeoutMs),
      // A redirect (often http → https) means the configured URL is wrong; re-posting the
      // event wherever the receiver points is not what the user set up, so it is refused below.
      redirect: "manual",
    });
    const text = await response.text();
    if (response.ok) return { ok: true };
    const location = response.headers.get("location");
    const excerpt = location
      ? `redirected to ${location}`
      : truncate(text.replace(/\s+/g, " ").trim(), BODY_EXCERPT_MAX);
    return {
      ok: false,
      retryable: isRetryableStatus(response.status),
      error: `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ""}`,
    };
  } catch (error) {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      return { ok: false, retryable: true, error: `no response within ${timeoutMs}ms` };
    }
    return { ok: false, retryable: true, error: errorMessage(error) };
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
