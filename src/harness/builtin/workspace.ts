/**
 * Keeping the builtin agent's file tools inside its workspace (the run's cwd). A requested
 * path is resolved against the workspace and refused when it leaves it: absolute paths
 * elsewhere, `..` escapes, and symlinks whose target lies outside (checked on the real path
 * of the file, or of its nearest existing ancestor for a file about to be created). Refusals
 * are values, not exceptions: the tools hand the message back to the model, which can
 * correct itself. (bash runs inside the run's sandbox when it has one, bash.ts; without one,
 * loopd's workspace escape check covers it.)
 */
import { readlink, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";

/** Symlink chains longer than this are refused like loops (the kernel allows 40). */
const MAX_LINK_HOPS = 40;

export interface Workspace {
  /** The workspace as given (the run's cwd). */
  root: string;
  /** Its real path: symlinks in the cwd itself (macOS /tmp → /private/tmp) are not escapes. */
  realRoot: string;
}

export type Resolved = { ok: true; path: string; display: string } | { ok: false; error: string };

export async function openWorkspace(root: string): Promise<Workspace> {
  const absolute = resolve(root);
  return { root: absolute, realRoot: await realpath(absolute) };
}

/** True when `path` is `root` or below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * The absolute path of `requested` if it stays in the workspace once symlinks are followed.
 * `display` is the path relative to the workspace, for tool output the model reads.
 */
export async function resolveInWorkspace(workspace: Workspace, requested: string): Promise<Resolved> {
  if (requested.includes("\0")) return refuse(requested, "contains a NUL byte");
  const absolute = resolve(workspace.root, requested);
  const lexicalRoot = isInside(workspace.root, absolute)
    ? workspace.root
    : isInside(workspace.realRoot, absolute)
      ? workspace.realRoot
      : null;
  if (lexicalRoot === null) return refuse(requested, "is outside the workspace");
  let real: string;
  try {
    real = await realPathOfNearest(absolute);
  } catch (error) {
    return refuse(
      requested,
      `cannot be resolved (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  if (!isInside(workspace.realRoot, real)) {
    return refuse(requested, "resolves (through a symlink) to a place outside the workspace");
  }
  return { ok: true, path: absolute, display: relative(lexicalRoot, absolute) || "." };
}

/**
 * The real path of `path`, or for a path that does not exist yet, the real path of its
 * nearest existing ancestor joined with the rest: a new file under a symlinked directory
 * lands where the symlink points.
 */
async function realPathOfNearest(path: string): Promise<string> {
  const missing: string[] = [];
  let current = path;
  for (let hops = 0; ; ) {
    try {
      const real = await realpath(current);
      return missing.length === 0 ? real : resolve(real, ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
    }
    // A dangling symlink: writing to it creates its target, so follow it by hand.
    const link = await readlink(current).catch(() => null);
    if (link !== null && hops++ < MAX_LINK_HOPS) {
      current = resolve(dirname(current), link);
      continue;
    }
    const parent = dirname(current);
    if (parent === current) return path;
    missing.push(basename(current));
    current = parent;
  }
}

function refuse(requested: string, why: string): Resolved {
  return {
    ok: false,
    error: `Error: path ${JSON.stringify(requested)} ${why}; use a path inside the workspace.`,
  };
}
