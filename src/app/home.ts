/**
 * Where loopd keeps its data, first match wins: `--home`; a `.loopd` directory in the current
 * directory or a parent (found the way git finds `.git`, so a CLI run anywhere in a project
 * reaches the store the project's daemon serves); `$LOOPD_HOME`; `$XDG_DATA_HOME/loopd`;
 * `~/.local/share/loopd`. A project's `.loopd` outranks `$LOOPD_HOME` because the variable is
 * a personal default that outlives the shell it was set in, while the folder is what the
 * user is standing in; `--home` pins either.
 */
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const PROJECT_HOME = ".loopd";

export type HomeSource = "flag" | "project" | "env" | "xdg" | "default";

export interface ResolvedHome {
  path: string;
  source: HomeSource;
}

export function resolveHome(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ResolvedHome {
  if (flag) return { path: resolve(cwd, flag), source: "flag" };
  const project = findProjectHome(cwd);
  if (project) return { path: project, source: "project" };
  if (env.LOOPD_HOME) return { path: resolve(cwd, env.LOOPD_HOME), source: "env" };
  if (env.XDG_DATA_HOME) return { path: join(resolve(env.XDG_DATA_HOME), "loopd"), source: "xdg" };
  return { path: join(homedir(), ".local", "share", "loopd"), source: "default" };
}

/** The nearest `.loopd` directory at or above `cwd`, if any. */
export function findProjectHome(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, PROJECT_HOME);
    if (isDirectory(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Why this home, in words: "(found from the current directory)", "($LOOPD_HOME)", … */
export function homeReason(source: HomeSource): string {
  switch (source) {
    case "flag":
      return "--home";
    case "project":
      return `the nearest ${PROJECT_HOME} at or above the current directory`;
    case "env":
      return `$LOOPD_HOME; no ${PROJECT_HOME} here or above`;
    case "xdg":
      return `$XDG_DATA_HOME; no ${PROJECT_HOME} here or above, no $LOOPD_HOME`;
    case "default":
      return `the user data dir; no ${PROJECT_HOME} here or above, no $LOOPD_HOME`;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
