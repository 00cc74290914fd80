/** How each face words the hints a client gives: the CLI names commands, MCP its tools. */
import type { ClientFace } from "./loopd-client.js";

export const FACE_WORDS: Record<
  ClientFace,
  {
    /** Where to find run ids. */
    runIds: string;
    /** How a `since` window was given, for its error message. */
    since: (text: string) => string;
    sinceHint: string;
  }
> = {
  cli: {
    runIds: "Run `loopd runs` to see run ids.",
    since: (text) => `--since ${text}`,
    sinceHint: "Give a duration with a unit, e.g. --since 7d or --since 24h.",
  },
  mcp: {
    runIds: "Call list_runs to see run ids.",
    since: (text) => `since "${text}"`,
    sinceHint: 'Give a duration with a unit, e.g. "24h", "7d" or "30d".',
  },
};
