/**
 * Finding an agent CLI and its version. The command comes from config
 * (`harnesses.<name>.command`) or the run environment's PATH, so `loopd doctor` and the run
 * agree on which binary is used.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** Absolute path of `command` on `pathVariable`, or null. A path with a slash is checked as is. */
export function findExecutable(command: string, pathVariable: string | undefined): string | null {
  if (command.includes("/")) return isExecutable(command) ? command : null;
  for (const dir of (pathVariable ?? "").split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Versions by binary and modification time: every run's preflight asks, and some CLIs take a
 * second or more to answer `--version`; an upgrade changes the mtime and so the answer.
 */
const versions = new Map<string, Promise<string | null>>();

/** First line of `<command> --version` (or the given args), or null when it fails. */
export function commandVersion(
  command: string,
  env: Record<string, string>,
  args: string[] = ["--version"],
  timeoutMs = 15_000,
): Promise<string | null> {
  let mtime: number;
  try {
    mtime = statSync(command).mtimeMs;
  } catch {
    return readVersion(command, env, args, timeoutMs);
  }
  const key = `${command}\0${mtime}\0${args.join("\0")}`;
  let version = versions.get(key);
  if (!version) {
    version = readVersion(command, env, args, timeoutMs);
    versions.set(key, version);
    // A failure (timeout on a loaded machine) is not remembered.
    void version.then((value) => value === null && versions.delete(key));
  }
  return version;
}

async function readVersion(
  command: string,
  env: Record<string, string>,
  args: string[],
  timeoutMs: number,
): Promise<string | null> {
  const { execa } = await import("execa");
  const result = await execa(command, args, {
    env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: timeoutMs,
  });
  if (result.exitCode !== 0) return null;
  const line = String(result.stdout).trim().split("\n")[0]?.trim();
  const match = line?.match(/\d+\.\d+\.\d+(?:[-+.\w]*)?/);
  return match ? match[0] : (line ?? null);
}
