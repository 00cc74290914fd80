/**
 * The launcher: the first process inside a sandbox with a filtered network. Its network
 * namespace has only loopback, so it listens there on each allowed loopback port (the model's
 * endpoint keeps its base URL) and on the proxy port, piping every connection to the unix
 * socket loopd bound in for it (network.ts answers on the other side); once all listen it
 * starts the command, passes signals on and exits as the command did.
 *
 * Kept as text and written into the attempt's dir at run time: it runs with the node binary
 * loopd runs on, whether loopd runs from dist/ or from its sources (tests), with no import.
 */

export interface LauncherConfig {
  /** Loopback ports inside → unix socket paths (inside the sandbox). */
  forwards: Array<{ port: number; socket: string }>;
}

export const LAUNCHER_SOURCE = String.raw`
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { constants } from "node:os";

const [configPath, command, ...args] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, "utf8"));

function listen(port, host, socket) {
  return new Promise((resolve) => {
    const server = createServer((inbound) => {
      const outbound = createConnection(socket);
      inbound.pipe(outbound).pipe(inbound);
      const close = () => { inbound.destroy(); outbound.destroy(); };
      inbound.on("error", close);
      outbound.on("error", close);
    });
    server.on("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => { server.unref(); resolve(true); });
  });
}

const listening = await Promise.all(
  config.forwards.flatMap(({ port, socket }) => [listen(port, "127.0.0.1", socket), listen(port, "::1", socket)]),
);
if (!listening.some(Boolean) && config.forwards.length > 0) {
  process.stderr.write("loopd sandbox: could not listen on loopback\n");
  process.exit(125);
}
const child = spawn(command, args, { stdio: "inherit" });
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("error", (error) => {
  process.stderr.write("loopd sandbox: " + error.message + "\n");
  process.exit(127);
});
child.on("exit", (code, signal) => {
  process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
});
`;
