/** Where loopd keeps its data: --home, else $LOOPD_HOME, else $XDG_DATA_HOME/loopd, else ~/.local/share/loopd. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.LOOPD_HOME) return resolve(env.LOOPD_HOME);
  if (env.XDG_DATA_HOME) return join(resolve(env.XDG_DATA_HOME), "loopd");
  return join(homedir(), ".local", "share", "loopd");
}
