/**
 * A repository as people write it — `acme/web`, a web URL, an https or ssh clone URL — as the
 * host + owner + name the API needs. Pure parsing.
 */
import type { RepoRef } from "./types.js";

export interface HostedRepo extends RepoRef {
  /** github.com, or a GitHub Enterprise host. */
  host: string;
}

const SEGMENT = "[A-Za-z0-9_.-]+";
const SHORT = new RegExp(`^(${SEGMENT})/(${SEGMENT})$`);
const HTTP = new RegExp(
  `^(?:https?|ssh|git)://(?:[^@/]+@)?([^/:]+)(?::\\d+)?/(${SEGMENT})/(${SEGMENT})/?$`,
  "i",
);
const SCP = new RegExp(`^[^@/]+@([^:/]+):(${SEGMENT})/(${SEGMENT})$`);

export function parseRepoRef(text: string): HostedRepo | null {
  const trimmed = text.trim();
  const short = SHORT.exec(trimmed);
  if (short) return { host: "github.com", owner: short[1]!, repo: stripGit(short[2]!) };
  const match = HTTP.exec(trimmed) ?? SCP.exec(trimmed);
  if (!match) return null;
  return { host: match[1]!.toLowerCase(), owner: match[2]!, repo: stripGit(match[3]!) };
}

function stripGit(name: string): string {
  return name.replace(/\.git$/i, "");
}
