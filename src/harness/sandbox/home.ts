/**
 * The synthetic HOME: which parts of the real HOME a harness's run sees. Only the harness's
 * own config and credentials, bound from the real HOME, plus git's config read-only; no
 * ~/.ssh, no other dotfiles. The agent CLIs write their session files and refreshed logins
 * into their config dirs (Claude Code: ~/.claude; Codex: $CODEX_HOME; Gemini: ~/.gemini;
 * opencode: ~/.local/share/opencode), so those are bound read-write — copying them would lose
 * a rotated OAuth token. ~/.claude.json (which Claude Code rewrites by renaming a temp file
 * over it, impossible on a bind mount) is copied into the synthetic HOME instead.
 */
import { join } from "node:path";
import type { SandboxBind } from "./profile.js";

export interface HomeLayout {
  /** Bound from the real HOME (or an env-named dir) into the synthetic one. */
  binds: SandboxBind[];
  /** Files copied into the synthetic HOME (the copy is writable and thrown away). */
  copies: string[];
}

/** Pure: the layout for `harness` given the real HOME and the run's environment. */
export function homeLayout(
  harness: string,
  home: string,
  env: Record<string, string>,
  options: { github: boolean },
): HomeLayout {
  const rw = (source: string): SandboxBind => ({ source, writable: true, optional: true });
  const ro = (source: string): SandboxBind => ({ source, writable: false, optional: true });
  const binds: SandboxBind[] = [ro(join(home, ".gitconfig")), ro(join(home, ".config/git"))];
  const copies: string[] = [];
  switch (harness) {
    case "claude":
      binds.push(rw(env.CLAUDE_CONFIG_DIR || join(home, ".claude")));
      copies.push(join(home, ".claude.json"));
      break;
    case "codex":
      binds.push(rw(env.CODEX_HOME || join(home, ".codex")));
      break;
    case "gemini":
      binds.push(rw(join(env.GEMINI_CLI_HOME || home, ".gemini")));
      break;
    case "opencode":
      binds.push(
        ro(join(home, ".config/opencode")),
        rw(join(home, ".local/share/opencode")),
        rw(join(home, ".local/state/opencode")),
        rw(join(home, ".cache/opencode")),
      );
      break;
  }
  if (options.github) binds.push(ro(join(home, ".config/gh")));
  return { binds, copies };
}
