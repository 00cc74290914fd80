/**
 * `loopd doctor`'s notify check: can this host reach each webhook, Slack and Discord
 * channel's endpoint? A dry run — one HEAD request with no body, which no webhook treats as a
 * message (Slack and Discord answer 4xx to it) — so no notification is ever sent. Any HTTP
 * answer means the endpoint is reachable (its status is shown); a refused connection, a DNS
 * failure, TLS trouble or no answer within the timeout fails the check. Other channel types
 * (email, desktop, command, log) have no endpoint to probe.
 */
import type { DoctorCheck } from "./doctor-checks.js";

const PROBED = new Set(["webhook", "slack", "discord"]);
export const CHANNEL_PROBE_TIMEOUT_MS = 5000;

export async function channelChecks(
  channels: Record<string, unknown>,
  timeoutMs = CHANNEL_PROBE_TIMEOUT_MS,
): Promise<DoctorCheck[]> {
  const probed = Object.entries(channels).flatMap(([name, channel]) => {
    const { type, url } = (channel ?? {}) as { type?: string; url?: string };
    return type && PROBED.has(type) && typeof url === "string" ? [{ name, type, url }] : [];
  });
  return Promise.all(probed.map((channel) => probe(channel, timeoutMs)));
}

async function probe(
  channel: { name: string; type: string; url: string },
  timeoutMs: number,
): Promise<DoctorCheck> {
  // The URL's secret parts (Slack's and Discord's paths are the credential) stay out of messages.
  const shown = safeOrigin(channel.url);
  const base = { code: "notify.reachable", subject: channel.name };
  try {
    const response = await fetch(channel.url, {
      method: "HEAD",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (response.status >= 500)
      return {
        ...base,
        status: "warn",
        message: `${channel.name} (${channel.type}): ${shown} answered HTTP ${response.status}`,
        hint: "The endpoint is reachable but erroring; deliveries retry with backoff (`loopd deliveries --failed`).",
        error: null,
      };
    return {
      ...base,
      status: "ok",
      message: `${channel.name} (${channel.type}): ${shown} reachable (HTTP ${response.status} to a HEAD probe; nothing sent)`,
      hint: null,
      error: null,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === "TimeoutError"
        ? `no answer within ${timeoutMs / 1000} s`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    return {
      ...base,
      status: "fail",
      message: `${channel.name} (${channel.type}): cannot reach ${shown}: ${why}`,
      hint: "Check the channel's URL in loopd.yaml and this host's network (proxy, firewall, DNS); `loopd deliveries --failed` lists what could not be sent.",
      error: "LOOPD_DELIVERY_FAILED",
    };
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(an invalid URL)";
  }
}
