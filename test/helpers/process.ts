/** A long-running `loopd` process (serve, worker) whose `--json` event lines tests can wait for. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { LOOPD_BIN } from "./cli.js";

export interface LoopdProcess {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  stderr: () => string;
  waitFor(
    predicate: (event: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends a signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function spawnLoopd(
  args: readonly string[],
  options: {
    env: Record<string, string>;
    cwd: string;
    /** A command that execs the rest (`unshare -m sh -c '…; exec "$@"' sh`): loopd keeps the pid. */
    wrap?: readonly string[];
  },
): LoopdProcess {
  const command = [...(options.wrap ?? []), process.execPath, LOOPD_BIN, ...args, "--json"];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      events.push({ type: "text", line });
    }
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1));
  });

  return {
    child,
    events,
    stderr: () => stderr,
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting for an event; got ${JSON.stringify(events.slice(-5))}; stderr: ${stderr}`,
            ),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check))
            setTimeout(() => check() || reject(new Error(`process exited; stderr: ${stderr}`)), 50);
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
