/**
 * A report window (`loopd costs --since`, MCP's get_costs, the API's /costs) given as a
 * duration back from now: "24h", "7d", "30d". Each face words the error its own way.
 */
import { parseDuration } from "./duration.js";

/** The window when none is given. */
export const DEFAULT_SINCE = "7d";

/** The instant the window starts at, or why `text` is not a duration. */
export function parseSince(
  text: string,
  now: number,
): { ok: true; since: number } | { ok: false; reason: string } {
  const window = parseDuration(text);
  return window.ok ? { ok: true, since: now - window.ms } : window;
}
