/**
 * macOS: a run's profile enforced by `sandbox-exec -p <SBPL>` (sbpl.ts) instead of bubblewrap,
 * chosen on darwin by sandbox.ts. NOT exercised in CI (no macOS runner): the command line is
 * unit-tested on Linux (`sandboxExecArgs`, pure), the rest is a starting point. What differs
 * from Linux by construction: no mount namespace (HOME is the real one, every file of it
 * denied but the harness's config; TMPDIR is a private dir in the attempt's dir), no PID
 * namespace (the run could see loopd's processes), no network namespace (the allowed loopback
 * ports are reached directly, and the filtering proxy is relayed on a loopback TCP port,
 * `loopbackRelay`; SBPL allows only those ports).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import type { SandboxProfile } from "./profile.js";
import { sbplProfile } from "./sbpl.js";

export const SANDBOX_EXEC = "/usr/bin/sandbox-exec";

export interface DarwinOptions {
  /** Writable temp dirs (the attempt's private TMPDIR). */
  tempDirs: string[];
  /** Loopback ports the run may connect to (model endpoints, the proxy relay). */
  loopbackPorts: number[];
}

/** `sandbox-exec`'s arguments: the SBPL document inline, then the command. Pure. */
export function sandboxExecArgs(
  profile: SandboxProfile,
  command: string,
  args: readonly string[],
  options: DarwinOptions,
): string[] {
  return ["-p", sbplProfile(profile, options), command, ...args];
}

/** null when sandbox-exec can confine a process here, else why not. */
export function sandboxExecProblem(): string | null {
  if (!existsSync(SANDBOX_EXEC)) return `sandbox-exec (${SANDBOX_EXEC}) is not available`;
  const probe = spawnSync(SANDBOX_EXEC, ["-p", "(version 1)(allow default)", "/usr/bin/true"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (probe.status === 0) return null;
  return `sandbox-exec cannot confine a run here: ${(probe.stderr || probe.error?.message || "").trim()}`;
}

/** A loopback TCP port piping every connection to a unix socket (the bridge's proxy). */
export function loopbackRelay(socketPath: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(socketPath);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
